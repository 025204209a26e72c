"""Engines and sessions.

Two engines share one database: ``reader`` for queries and ``writer`` for changes. On SQLite the
writer starts every transaction with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing half-way (and, within one process, on a lock first: SQLite's
busy handler polls with sleeps of up to 100 ms, which makes a long latency tail); on PostgreSQL
both are the same pool and rows that a change depends on are locked with ``SELECT ... FOR UPDATE``.

The handle also carries the backend's clock (bot/billing/clock.py): each session it opens holds it
in ``session.info``, so a unit of work reads one clock, and pinning ``db.clock`` pins them all.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from ..clock import SYSTEM_CLOCK, Clock

SQLITE_BUSY_TIMEOUT_MS = 15_000
PG_STATEMENT_TIMEOUT_MS = 10_000


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=10,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if ":memory:" not in url:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _pg_engine(url: str) -> Engine:
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={
            "connect_timeout": 5,
            "options": f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} -c lock_timeout={PG_STATEMENT_TIMEOUT_MS}",
        },
    )


def normalise_url(url: str) -> str:
    """Accept plain postgres URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass
class Database:
    url: str
    reader: Engine
    writer: Engine

    @classmethod
    def connect(cls, url: str, *, clock: Clock = SYSTEM_CLOCK) -> Database:
        url = normalise_url(url)
        if url.startswith("sqlite"):
            return cls(url, _sqlite_engine(url, immediate=False), _sqlite_engine(url, immediate=True), clock=clock)
        engine = _pg_engine(url)
        return cls(url, engine, engine, clock=clock)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    _writer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # What sessions opened from now on read as the time; tests replace it with a FixedClock.
    clock: Clock = field(default=SYSTEM_CLOCK, kw_only=True)

    def __post_init__(self) -> None:
        self._read = sessionmaker(self.reader, expire_on_commit=False)
        self._write = sessionmaker(self.writer, expire_on_commit=False)

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction: committed if the block finishes, rolled back if it raises."""
        if write and self.is_sqlite:
            with self._writer_lock, self._transaction(self._write) as session:
                yield session
        else:
            with self._transaction(self._write if write else self._read) as session:
                yield session

    @contextmanager
    def _transaction(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        with factory(info={"clock": self.clock}) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()
