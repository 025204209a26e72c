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
- The two calls of every turn, ``retrieve`` (the latest session's events) and ``save`` (count the
  stored events, insert the new ones), run Rasa's SQL as plain statements on one connection
  instead of building ORM queries and objects each time: the same rows in, the same rows out.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
POOL_SIZE = 5


# Rasa's _event_query for the latest session: the events from the newest SessionStarted on (all
# of them when there is none), in insertion order.
_LATEST_SESSION = """
    FROM events WHERE sender_id = :sender AND (
        timestamp >= (SELECT max(timestamp) FROM events WHERE sender_id = :sender AND type_name = :started)
        OR (SELECT max(timestamp) FROM events WHERE sender_id = :sender AND type_name = :started) IS NULL)"""
SELECT_LATEST_SESSION = sa.text("SELECT data" + _LATEST_SESSION + " ORDER BY id")
COUNT_LATEST_SESSION = sa.text("SELECT count(*)" + _LATEST_SESSION)
INSERT_EVENT = sa.text("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                       "VALUES (:sender_id, :type_name, :timestamp, :intent_name, :action_name, :data)")


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
        self._plain_sql = True
        log.debug("tracker store: SQLite %s (WAL, pooled connections)", url.database)

    _plain_sql = False  # an in-memory database keeps Rasa's own code

    def _params(self, sender_id: str) -> dict[str, Any]:
        return {"sender": sender_id, "started": SessionStarted.type_name}

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest conversation session, or None."""
        if not self._plain_sql:
            return await super().retrieve(sender_id)
        with self.engine.connect() as conn:
            rows = conn.execute(SELECT_LATEST_SESSION, self._params(sender_id)).fetchall()
        if not self.domain or not rows:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for (data,) in rows], self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Add the tracker's events that are not stored yet (counted as Rasa counts them)."""
        if not self._plain_sql:
            return await super().save(tracker)
        await self.stream_events(tracker)
        with self.engine.begin() as conn:
            stored = conn.execute(COUNT_LATEST_SESSION, self._params(tracker.sender_id)).scalar_one()
            rows = []
            for event in list(tracker.events)[stored:]:
                data = event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id, "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    "action_name": data.get("name"), "data": json.dumps(data),
                })
            if rows:
                conn.execute(INSERT_EVENT, rows)
