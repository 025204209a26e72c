"""Rasa's SQL tracker store on SQLite, set up for one Rasa process serving many conversations
(`make run`'s laptop default; bot/endpoints.yml). Same tables, same queries, same data as Rasa's
own `type: SQL` store, so existing data/rasa-tracker.sqlite3 files keep working.

What differs, and why (each measured with `make bench`'s turn benchmarks):
- Connections are pooled. SQLAlchemy 1.4 opens a new SQLite connection for every session on a
  file database (NullPool): two or more per turn, each re-reading the schema.
- WAL journal with ``synchronous=NORMAL``: a commit appends to the log instead of rewriting the
  rollback journal and syncing the disk several times. A crash of Rasa loses nothing; a power cut
  may lose the last turns' events (never corrupts the file). For conversation history on a laptop
  that is the right trade; production uses PostgreSQL.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
POOL_SIZE = 5


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


class SQLiteTrackerStore(SQLTrackerStore):
    """``type: bot.tracker_store.SQLiteTrackerStore`` with ``db: <path>`` (dialect is sqlite)."""

    def __init__(self, domain: Any = None, db: str = "rasa.db", **kwargs: Any) -> None:
        kwargs.pop("dialect", None)
        super().__init__(domain=domain, dialect="sqlite", db=db, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        if url.database in (None, "", ":memory:"):
            return  # an in-memory database lives in its one connection: keep Rasa's pool for it
        self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=POOL_SIZE, max_overflow=10,
                                       connect_args={"check_same_thread": False,
                                                     "timeout": BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(self.engine, "connect", _pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        log.debug("tracker store: SQLite %s (WAL, pooled connections)", url.database)
