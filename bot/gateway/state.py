"""Durable gateway state shared by all gateway replicas: one SQL database (SQLite on a laptop,
PostgreSQL in production).

``first_time(key)`` is the dedupe primitive: True exactly once per key, whichever replica asks,
so a Slack retry, a message + app_mention pair, a double click or a widget resend after a reconnect
is acted on once. ``first_time_then(key, write)`` claims the key and writes what acting on it
stores in one transaction: the key is taken only if the write is, so a delivery whose write failed
is taken when it comes again. Keys are kept for ``DEDUPE_TTL`` and pruned now and then.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, delete, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.billing.adapters.db import normalise_url
from bot.tables import create_tables

metadata = MetaData()

seen = Table(
    "gateway_seen",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

DEDUPE_TTL = timedelta(days=2)  # longer than Slack's retries and any reconnect
PRUNE_EVERY_S = 600.0

T = TypeVar("T")

# A key inserted unless it is there, returned when it was: a racing replica's insert waits for the
# first one's transaction, then inserts nothing (or the key, if that transaction was rolled back).
_CLAIM = {
    "postgresql": postgresql.insert(seen).on_conflict_do_nothing(index_elements=["key"]).returning(seen.c.key),
    "sqlite": sqlite.insert(seen).on_conflict_do_nothing(index_elements=["key"]).returning(seen.c.key),
}


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            # several processes share the file
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA busy_timeout=10000")

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=5, connect_args={"connect_timeout": 5}
    )


class GatewayState:
    def __init__(self, url: str) -> None:
        url = normalise_url(url)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = _engine(url)
        create_tables(self.engine, metadata)
        self._pruned = 0.0

    def dispose(self) -> None:
        self.engine.dispose()

    def first_time_sync(self, key: str) -> bool:
        return self.first_time_then_sync(key, lambda _conn: True) is not None

    def first_time_then_sync(self, key: str, write: Callable[[Connection], T]) -> T | None:
        """``write(connection)``'s result if ``key`` is new, in the transaction that records the key;
        None if the key was seen. Nothing is recorded when ``write`` raises."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            claim = _CLAIM[self.engine.dialect.name]
            claimed = conn.execute(claim, {"key": key[:255], "at": now}).first() is not None
            done = write(conn) if claimed else None
        if claimed and time.monotonic() - self._pruned > PRUNE_EVERY_S:
            self._pruned = time.monotonic()
            with self.engine.begin() as conn:
                conn.execute(delete(seen).where(seen.c.at < now - DEDUPE_TTL))
        return done

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen by any replica, False ever after (within the TTL)."""
        return await asyncio.to_thread(self.first_time_sync, key)

    async def first_time_then(self, key: str, write: Callable[[Connection], T]) -> T | None:
        """``first_time`` and, the first time, ``write`` in the same transaction (module docstring)."""
        return await asyncio.to_thread(self.first_time_then_sync, key, write)
