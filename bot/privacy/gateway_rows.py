"""The gateway's conversation tables, as stores of the privacy job (stores.py): the widget history
(bot/gateway/widget/history.py), the handoff records (bot/gateway/handoff/store.py) and the ratings
(bot/gateway/ratings.py). Each is keyed by the conversation id (Rasa's sender id) and has times that
say when the conversation was last active there."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, not_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.functions import coalesce

from bot.gateway.handoff.store import handoffs
from bot.gateway.handoff.store import metadata as handoff_metadata
from bot.gateway.ratings import metadata as ratings_metadata
from bot.gateway.ratings import ratings
from bot.gateway.widget.history import messages
from bot.gateway.widget.history import metadata as history_metadata
from bot.tables import create_tables


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (written in UTC)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    return value


class GatewayRows:
    """One table: ``key`` is its conversation column, ``times`` the columns whose newest value is the
    conversation's last activity there (the first one is always set)."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        table: Table,
        key: str,
        times: Sequence[str],
        live: ColumnElement[bool] | None = None,
    ) -> None:
        """``live``: rows trimming never deletes, however old (a handoff a rep still works on)."""
        self.name = name
        self.live = live
        self.engine = engine
        self.table = table
        self.key = table.c[key]
        self.first = table.c[times[0]]
        cols = [coalesce(table.c[t], self.first) for t in times]
        # the row's newest time; greatest() is PostgreSQL's, max() of several values SQLite's
        self._greatest_pg = func.greatest(*cols) if len(cols) > 1 else cols[0]
        self._greatest_lite = func.max(*cols) if len(cols) > 1 else cols[0]

    def _activity(self) -> ColumnElement[Any]:
        return self._greatest_lite if self.engine.dialect.name == "sqlite" else self._greatest_pg

    def stale(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        query = (
            select(self.key)
            .where(self.key > after)
            .group_by(self.key)
            .having(func.max(self._activity()) < cutoff)
            .order_by(self.key)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def newest(self, senders: Sequence[str]) -> dict[str, datetime]:
        if not senders:
            return {}
        query = select(self.key, func.max(self._activity())).where(self.key.in_(senders)).group_by(self.key)
        with self.engine.connect() as conn:
            return {r[0]: _as_time(r[1]) for r in conn.execute(query) if r[1] is not None}

    def rows(self, senders: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        if not senders:
            return found
        query = select(self.table).where(self.key.in_(senders)).order_by(self.key, self.first)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                item = {k: _plain(v) for k, v in row._mapping.items()}
                if self.table is messages:
                    item["body"] = json.loads(item["body"])
                found.setdefault(row._mapping[self.key.name], []).append(item)
        return found

    def delete(self, senders: Sequence[str], before: datetime | None) -> int:
        """These conversations' rows (only those whose last activity is older than ``before`` when
        given: a row written meanwhile is never deleted)."""
        if not senders:
            return 0
        where: list[ColumnElement[bool]] = [self.key.in_(senders)]
        if before is not None:
            where.append(self._activity() < before)
        with self.engine.begin() as conn:
            return int(conn.execute(delete(self.table).where(and_(*where))).rowcount)

    def _trimmable(self, cutoff: datetime) -> ColumnElement[bool]:
        old = self._activity() < cutoff
        return old if self.live is None else and_(old, not_(self.live))

    def old(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        query = (
            select(self.key)
            .where(self.key > after, self._trimmable(cutoff))
            .group_by(self.key)
            .order_by(self.key)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def trim(self, senders: Sequence[str], cutoff: datetime) -> int:
        """These conversations' rows last active before ``cutoff``, live ones aside."""
        if not senders:
            return 0
        with self.engine.begin() as conn:
            query = delete(self.table).where(self.key.in_(senders), self._trimmable(cutoff))
            return int(conn.execute(query).rowcount)

    def senders_of_email(self, email: str) -> list[str]:
        """Conversations in which this verified email was recorded (ratings keep it)."""
        if self.table is not ratings:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.key).where(func.lower(ratings.c.customer) == email).distinct())
            return sorted(r[0] for r in rows)


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    # SQLite's max() over DATETIME columns gives the stored text back
    return _aware(datetime.fromisoformat(str(value)))


def gateway_stores(engine: Engine) -> list[GatewayRows]:
    create_tables(engine, history_metadata, handoff_metadata, ratings_metadata)
    return [
        GatewayRows("widget_messages", engine, messages, "sender", ["at"]),
        GatewayRows(
            "handoffs",
            engine,
            handoffs,
            "sender",
            ["created_at", "claimed_at", "closed_at", "alerted_at", "escalated_at"],
            live=handoffs.c.status != "closed",
        ),
        GatewayRows("ratings", engine, ratings, "conversation", ["offered_at", "answered_at"]),
    ]
