"""The CSV exports: each a table of the index as a staff member reads it, filtered like a search
(the conversations a search would list, and the period on the table's own time), and streamed from
a server-side cursor, so an export of every conversation never sits in memory. Texts were redacted
of card numbers when indexed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, select
from sqlalchemy.engine import Engine

from .api import Filters
from .store import aware, bounds
from .tables import conversations, handoffs, messages, orders, ratings

STREAM = 1000  # rows per fetch


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return aware(value).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def _query(
    table: Table, columns: list[str], time: str | None, label_only: bool = False
) -> Callable[[Filters, list[ColumnElement[bool]]], Select[Any]]:
    def build(filters: Filters, where: list[ColumnElement[bool]]) -> Select[Any]:
        query = select(*(table.c[c] for c in columns))
        if table is not conversations and where:
            query = query.where(table.c.sender.in_(select(conversations.c.sender).where(*where)))
        elif where:
            query = query.where(*where)
        if filters.period is not None and time is not None and table is not conversations:
            start, after = bounds(filters.period)
            query = query.where(table.c[time] >= start, table.c[time] < after)
        if label_only:
            query = query.where(table.c.label.is_not(None))
        order = table.c[time] if time else table.c[columns[0]]
        return query.order_by(order, table.c[columns[0]])

    return build


TABLES: dict[str, Callable[[Filters, list[ColumnElement[bool]]], Select[Any]]] = {
    "conversations": _query(
        conversations,
        [
            "sender",
            "channel",
            "customer",
            "org",
            "org_name",
            "started_at",
            "last_at",
            "turns",
            "fallbacks",
            "tasks",
            "task_names",
            "in_scope",
            "outcome",
            "handoff",
            "handoff_answered",
            "rating",
            "orders",
            "revenue_minor",
            "currency",
        ],
        "last_at",
    ),  # fmt: skip
    "messages": _query(
        messages,
        [
            "id",
            "sender",
            "at",
            "channel",
            "text",
            "intent",
            "confidence",
            "fallback",
            "task",
            "review",
            "label",
            "labelled_by",
            "labelled_at",
        ],
        "at",
    ),  # fmt: skip
    "ratings": _query(
        ratings, ["id", "sender", "channel", "task", "state", "comment", "offered_at", "answered_at"], "offered_at"
    ),
    "handoffs": _query(
        handoffs,
        ["number", "sender", "channel", "queue", "status", "claimed_by", "created_at", "claimed_at", "closed_at"],
        "created_at",
    ),
    "orders": _query(orders, ["number", "sender", "channel", "org", "at", "total_minor", "currency"], "at"),
    "labels": _query(
        messages,
        ["id", "sender", "at", "text", "intent", "confidence", "review", "label", "labelled_by", "labelled_at"],
        "labelled_at",
        label_only=True,
    ),  # fmt: skip
}


def export_rows(
    engine: Engine, table: str, filters: Filters, where: list[ColumnElement[bool]]
) -> Iterator[dict[str, object]]:
    query = TABLES[table](filters, where)

    def rows() -> Iterator[dict[str, object]]:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=STREAM).execute(query)
            for row in result:
                yield {k: _plain(v) for k, v in row._mapping.items()}

    return rows()
