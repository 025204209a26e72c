"""Durable gateway state shared by all gateway replicas: one SQL database (SQLite on a laptop,
PostgreSQL in production).

``first_time(key)`` is the dedupe primitive: True exactly once per key, whichever replica asks,
so a Slack retry, a message + app_mention pair, a double click or a widget resend after a reconnect
is acted on once. Keys are kept for ``DEDUPE_TTL`` and pruned now and then.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, delete, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import ConnectionPoolEntry

from bot.billing.adapters.db import normalise_url

metadata = MetaData()

seen = Table(
    "gateway_seen",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

DEDUPE_TTL = timedelta(days=2)  # longer than Slack's retries and any reconnect
PRUNE_EVERY_S = 600.0


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
        metadata.create_all(self.engine)
        self._pruned = 0.0

    def dispose(self) -> None:
        self.engine.dispose()

    def first_time_sync(self, key: str) -> bool:
        now = datetime.now(timezone.utc)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(seen).values(key=key[:255], at=now))
        except IntegrityError:
            return False
        if time.monotonic() - self._pruned > PRUNE_EVERY_S:
            self._pruned = time.monotonic()
            with self.engine.begin() as conn:
                conn.execute(delete(seen).where(seen.c.at < now - DEDUPE_TTL))
        return True

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen by any replica, False ever after (within the TTL)."""
        return await asyncio.to_thread(self.first_time_sync, key)
