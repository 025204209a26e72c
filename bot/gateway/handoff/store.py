"""Live handoffs in the gateway database (shared by every gateway replica).

One row per billing handoff: which conversation it came from, where its summary was posted in
Slack, and its state: ``open`` (waiting for a rep) -> ``claimed`` (live: the rep and the customer
talk through the thread) -> ``closed``. The claim is one conditional UPDATE (``status = 'open'``),
so two reps clicking at once get exactly one winner, whichever replica each click reaches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar, TypeVarTuple, Unpack, overload

from sqlalchemy import Column, DateTime, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from bot.tables import create_tables

T = TypeVar("T")
Args = TypeVarTuple("Args")

metadata = MetaData()

handoffs = Table(
    "gateway_handoffs",
    metadata,
    Column("number", String(40), primary_key=True),  # the billing handoff's number
    Column("queue", String(20), nullable=False),
    Column("sender", String(200), nullable=False, index=True),  # the customer's conversation (Rasa sender)
    Column("status", String(20), nullable=False, index=True),  # open, claimed, closed
    Column("post_channel", String(40)),  # the queue's Slack channel
    Column("post_ts", String(40)),  # the summary message: its thread is the bridge
    Column("claimed_by", String(40)),  # Slack user id of the rep
    Column("claimed_name", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("alerted_at", DateTime(timezone=True)),  # last re-alert
    Column("escalated_at", DateTime(timezone=True)),  # the customer was offered the phone / a callback
)


# Asked before every widget and Slack turn: built once (a statement object is keyed for the cache each
# time one is built).
_LIVE_FOR = (
    select(handoffs)
    .where(handoffs.c.sender == bindparam("sender"), handoffs.c.status == "claimed")
    .order_by(handoffs.c.created_at.desc())
    .limit(1)
)


@dataclass(frozen=True)
class Live:
    number: str
    queue: str
    sender: str
    status: str
    post_channel: str | None
    post_ts: str | None
    claimed_by: str | None
    claimed_name: str | None
    created_at: datetime
    alerted_at: datetime | None
    escalated_at: datetime | None

    @classmethod
    def of(cls, row: Row[Any]) -> Live:
        m = row._mapping
        return cls(
            m["number"],
            m["queue"],
            m["sender"],
            m["status"],
            m["post_channel"],
            m["post_ts"],
            m["claimed_by"],
            m["claimed_name"],
            _aware(m["created_at"]),
            _aware(m["alerted_at"]),
            _aware(m["escalated_at"]),
        )


@overload
def _aware(value: datetime) -> datetime: ...


@overload
def _aware(value: datetime | None) -> datetime | None: ...


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they were written in UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class HandoffStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, metadata)

    async def _run(self, fn: Callable[[Unpack[Args]], T], *args: Unpack[Args]) -> T:
        return await asyncio.to_thread(fn, *args)

    # -- writes ---------------------------------------------------------------------------------------

    def _add(self, number: str, queue: str, sender: str, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(handoffs).values(number=number, queue=queue, sender=sender, status="open", created_at=now)
                )
        except IntegrityError:
            return False
        return True

    async def add(self, number: str, queue: str, sender: str, now: datetime) -> bool:
        """False if the handoff is known already (the notice came twice)."""
        return await self._run(self._add, number, queue, sender, now)

    def _set(self, number: str, where_status: str | None, unset: str | None = None, **values: Any) -> bool:
        """One conditional UPDATE: True when it changed the row (the status, and the column
        ``unset`` still empty, as expected), so of several replicas or clicks exactly one wins."""
        stmt = update(handoffs).where(handoffs.c.number == number)
        if where_status is not None:
            stmt = stmt.where(handoffs.c.status == where_status)
        if unset is not None:
            stmt = stmt.where(handoffs.c[unset].is_(None))
        with self.engine.begin() as conn:
            return conn.execute(stmt.values(**values)).rowcount == 1

    async def posted(self, number: str, channel: str, ts: str) -> None:
        await self._run(lambda: self._set(number, None, post_channel=channel, post_ts=ts))

    async def claim(self, number: str, user: str, name: str, now: datetime) -> bool:
        """True for the one rep whose claim landed first."""
        return await self._run(
            lambda: self._set(number, "open", status="claimed", claimed_by=user, claimed_name=name, claimed_at=now)
        )

    async def close(self, number: str, now: datetime) -> bool:
        """True for the one close that ended a live handoff."""
        return await self._run(lambda: self._set(number, "claimed", status="closed", closed_at=now))

    async def alerted(self, number: str, now: datetime) -> bool:
        """True for the one gateway replica that re-alerts the queue."""
        return await self._run(lambda: self._set(number, "open", "alerted_at", alerted_at=now))

    async def escalated(self, number: str, now: datetime) -> bool:
        """True for the one gateway replica that offers the customer the phone and a callback."""
        return await self._run(lambda: self._set(number, "open", "escalated_at", escalated_at=now))

    # -- reads ----------------------------------------------------------------------------------------

    def _one(self, *where: ColumnElement[bool]) -> Live | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(handoffs).where(*where).order_by(handoffs.c.created_at.desc()).limit(1)).first()
        return Live.of(row) if row is not None else None

    async def get(self, number: str) -> Live | None:
        return await self._run(self._one, handoffs.c.number == number)

    def _live_for(self, sender: str) -> Live | None:
        with self.engine.connect() as conn:
            row = conn.execute(_LIVE_FOR, {"sender": sender}).first()
        return Live.of(row) if row is not None else None

    async def live_for(self, sender: str) -> Live | None:
        """The conversation's claimed handoff: its messages go to the rep, not to the bot."""
        return await self._run(self._live_for, sender)

    async def by_thread(self, channel: str, ts: str) -> Live | None:
        return await self._run(self._one, handoffs.c.post_channel == channel, handoffs.c.post_ts == ts)

    def _waiting(self) -> list[Live]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.status == "open")).all()
        return [Live.of(r) for r in rows]

    async def waiting(self) -> list[Live]:
        return await self._run(self._waiting)
