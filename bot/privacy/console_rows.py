"""The staff console's index (bot/console/data/tables.py), as one store of the privacy job
(stores.py): its rows are copies of conversation data (customer messages, the bot's lines, ratings,
handoffs, orders), keyed by the conversation's sender id, so retention and erasure delete them with
the tracker's. Its newest time is the conversation's last customer message there.

An idle conversation is deleted from the index whole: its rows are aggregates of one another (a
conversation's counts, its days), so keeping the newer half of one would show figures that no longer
add up. Retention deletes a conversation only once it is idle in every store, so "whole, when its
last activity here is older than the cut-off" deletes exactly what the rule asks.

A conversation that stays active is trimmed as the tracker is: its messages, the bot's and reps'
lines, its days, ratings, closed handoffs and orders from before the cut-off go; its one summary row
stays (counts, no text), so its totals still cover what it did before the period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, select, union
from sqlalchemy.engine import Engine

from bot.console.data.tables import BY_SENDER, conversations, create, days, handoffs, lines, messages, orders, ratings

NAME = "console_index"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return value.isoformat() if isinstance(value, date) else value


class ConsoleRows:
    name = NAME

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create(engine)

    def stale(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        c = conversations.c
        query = select(c.sender).where(c.sender > after, c.last_at < cutoff).order_by(c.sender).limit(limit)
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def newest(self, senders: Sequence[str]) -> dict[str, datetime]:
        if not senders:
            return {}
        c = conversations.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.sender, c.last_at).where(c.sender.in_(list(senders)))).all()
        return {r[0]: r[1] if r[1].tzinfo else r[1].replace(tzinfo=timezone.utc) for r in rows}

    def rows(self, senders: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        if not senders:
            return found
        with self.engine.connect() as conn:
            for table in BY_SENDER:
                for row in conn.execute(select(table).where(table.c.sender.in_(list(senders)))):
                    item = {"table": table.name, **{k: _plain(v) for k, v in row._mapping.items()}}
                    found.setdefault(row._mapping["sender"], []).append(item)
        return found

    def delete(self, senders: Sequence[str], before: datetime | None) -> int:
        """These conversations' rows in every table of the index (when ``before`` is given, only of
        those whose last activity here is older)."""
        if not senders:
            return 0
        with self.engine.begin() as conn:
            chosen = list(senders)
            if before is not None:
                c = conversations.c
                chosen = [r[0] for r in conn.execute(select(c.sender).where(c.sender.in_(chosen), c.last_at < before))]
            if not chosen:
                return 0
            return sum(int(conn.execute(delete(t).where(t.c.sender.in_(chosen))).rowcount) for t in BY_SENDER)

    @staticmethod
    def _older(cutoff: datetime) -> list[tuple[Table, ColumnElement[bool]]]:
        """Each table's rows that trimming deletes."""
        rated = func.coalesce(ratings.c.answered_at, ratings.c.offered_at)
        return [
            (messages, messages.c.at < cutoff),
            (lines, lines.c.at < cutoff),
            (days, days.c.day < cutoff.date()),
            (ratings, rated < cutoff),
            (handoffs, and_(handoffs.c.status == "closed", handoffs.c.created_at < cutoff)),
            (orders, orders.c.at < cutoff),
        ]

    def old(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        said = [select(t.c.sender).where(t.c.sender > after, t.c.at < cutoff) for t in (messages, lines)]
        query = union(*said).order_by("sender").limit(limit)
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def trim(self, senders: Sequence[str], cutoff: datetime) -> int:
        if not senders:
            return 0
        with self.engine.begin() as conn:
            return sum(
                int(conn.execute(delete(t).where(t.c.sender.in_(list(senders)), older)).rowcount)
                for t, older in self._older(cutoff)
            )

    def senders_of_email(self, email: str) -> list[str]:
        c = conversations.c
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(select(c.sender).where(func.lower(c.customer) == email)))
