"""Rasa's SQL tracker store, as the endpoints files name it: ``PostgresTrackerStore`` in production
(bot/endpoints.prod.yml), ``SQLiteTrackerStore`` on a laptop (bot/endpoints.yml). Same tables, same
queries, same data as Rasa's own `type: SQL` store, so existing databases keep working.

``PostgresTrackerStore``: what happens when PostgreSQL drops a connection (a restart, a failover, an
idle timeout, a dropped TCP connection), which Rasa's store and its fail-safe wrapper turn into a
conversation answered as if it were new (a customer mid-quote suddenly a stranger, and the empty
conversation saved over theirs):
- a read or save whose connection died (while idle in the pool, or mid-query) is tried once more on
  a fresh connection: SQLAlchemy replaces the whole pool when it sees a disconnect, a save's
  transaction was rolled back, and a save writes only the events not stored yet. No
  ``pool_pre_ping``: it would cost a round trip on every checkout, several a turn, to catch what
  the retry catches anyway;
- a conversation that still cannot be read fails the turn (``TrackerStoreUnavailable``, which Rasa's
  fail-safe wrapper lets through and the gateway channel answers as a failure: nothing changed,
  try again) instead of starting afresh. A save that still fails is left to Rasa's wrapper, which
  keeps the turn in memory: the customer hears what happened (an order placed, say).
Its two calls of every turn, ``retrieve`` and ``save``, run as the same plain statements as the
SQLite store's below (the same rows in and out as Rasa's ORM code, without building its queries and
objects each time): under the load benchmark's crowd they took a third of the Rasa process's time.
tests/rasa_env/test_tracker_store_pg.py cuts the connections under each case; tests/e2e/
test_faults_prod.py drops them during a burst of orders.

Both stores honour **erasures** (bot/privacy/tracker_rows.py deletes a conversation's rows for the
retention job and for a customer's erasure): a turn already running when its conversation is
deleted holds the old events in memory, and Rasa's save, which writes "the events not stored yet"
by counting what is stored, would write them all back. So the deleter leaves a marker
(``conversation_erasures``: a hash of the sender id and a time) and a save drops the events older
than the marker's time. One primary-key lookup per save; markers are pruned after a day.

``SQLiteTrackerStore``, for one Rasa process serving many conversations (`make run`):

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

import hashlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from bot.rasa_server import turn_facts
from bot.rasa_server.session_cache import SessionCache

log = logging.getLogger(__name__)
T = TypeVar("T")


class TrackerStoreUnavailable(BaseException):
    """The conversation could not be read. A BaseException so that Rasa's fail-safe wrapper, which
    answers any Exception as if the conversation were new, lets it through to the channel
    (bot/rasa_server/channel.py), which fails the turn."""


async def _once_more(what: str, first: Callable[[], Awaitable[T]], again: Callable[[], Awaitable[T]]) -> T:
    """``first()``; if its database connection was lost, ``again()`` on a fresh one (the pool drops
    the dead connection and pings the next before handing it out)."""
    try:
        return await first()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning(
            "a conversation %s lost its database connection (%s); trying once more", what, type(error.orig).__name__
        )
    return await again()


# The same DDL as bot/privacy/tracker_rows.py (the app environment creates it too, whichever is first).
ERASURES_DDL = sa.text(
    "CREATE TABLE IF NOT EXISTS conversation_erasures "
    "(sender_key VARCHAR(64) PRIMARY KEY, before_ts DOUBLE PRECISION NOT NULL, erased_at DOUBLE PRECISION NOT NULL)"
)
ERASED_BEFORE = sa.text("SELECT before_ts FROM conversation_erasures WHERE sender_key = :key")


def sender_key(sender_id: str) -> str:
    """What an erasure marker names: a hash, so the marker table holds no sender ids."""
    return hashlib.sha256(sender_id.encode()).hexdigest()


def _create_erasures(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(ERASURES_DDL)


def _not_erased(conn: Any, sender_id: str, events: Any) -> Any:
    """``events`` without those older than an erasure of this conversation (see the module's note)."""
    before = conn.execute(ERASED_BEFORE, {"key": sender_key(sender_id)}).scalar()
    if before is None:
        return events
    return (e for e in events if (e.timestamp or 0) >= before)


# Rasa's _event_query for the latest session: the events from the newest SessionStarted on (all
# of them when there is none), in insertion order.
_LATEST_SESSION = """
    FROM events WHERE sender_id = :sender AND (
        timestamp >= (SELECT max(timestamp) FROM events WHERE sender_id = :sender AND type_name = :started)
        OR (SELECT max(timestamp) FROM events WHERE sender_id = :sender AND type_name = :started) IS NULL)"""
SELECT_LATEST_SESSION = sa.text("SELECT data" + _LATEST_SESSION + " ORDER BY id")
COUNT_LATEST_SESSION = sa.text("SELECT count(*)" + _LATEST_SESSION)
LATEST_SESSION_SPAN = sa.text("SELECT count(*), min(timestamp), max(id)" + _LATEST_SESSION)
INSERT_EVENT = sa.text(
    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
    "VALUES (:sender_id, :type_name, :timestamp, :intent_name, :action_name, :data)"
)


def _params(sender_id: str) -> dict[str, Any]:
    return {"sender": sender_id, "started": SessionStarted.type_name}


NEWEST_ID = sa.text("SELECT max(id) FROM events WHERE sender_id = :sender")
# A tracker's attribute: (how many of its events are stored, the newest stored event id then).
_STORED = "_aa_stored"


def _read_latest_session(engine: Any, domain: Any, sender_id: str, cache: SessionCache) -> DialogueStateTracker | None:
    """The tracker of the latest conversation session, or None: the one this process saved last if
    nothing was written to the conversation since (bot/rasa_server/session_cache.py), else Rasa's
    query as one statement."""
    kept = cache.take(sender_id, domain)
    with engine.connect() as conn:
        if kept is not None and conn.execute(NEWEST_ID, {"sender": sender_id}).scalar() == kept[1]:
            return kept[0]  # still marked (``_STORED``) as the save that kept it left it
        rows = conn.execute(SELECT_LATEST_SESSION, _params(sender_id)).fetchall()
    if not domain or not rows:
        return None
    return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for (data,) in rows], domain.slots)


def _write_new_events(engine: Any, tracker: DialogueStateTracker, cache: SessionCache, domain: Any) -> None:
    """Add the tracker's events that are not stored yet, counted as Rasa counts them (the latest
    session's), in one transaction, and keep the tracker for the conversation's next turn if the
    latest stored session is then exactly its events.

    A tracker this store saved and kept (and hands out from its cache) carries how many of its
    events were stored and the newest event id then (``_STORED``). While the conversation's newest
    id is still that one, nothing was written or erased since, so those are still the stored events:
    the new ones follow them, and if none starts a session, none is dropped by an erasure and none
    is older than the session's start (the latest session is found by time), the stored session is
    the tracker's events. Saving costs the same at the 500th message of a session as at the 5th.
    Otherwise Rasa's count of the latest session says what is stored, and one more query whether
    it is the tracker's events: as many, from the same first one (not so after a turn that started a
    new session, which holds the one before too, or one whose events an erasure dropped)."""
    sender = tracker.sender_id
    marked = tracker.__dict__.pop(_STORED, None)
    with engine.begin() as conn:
        stored = None
        if marked is not None and conn.execute(NEWEST_ID, {"sender": sender}).scalar() == marked[1]:
            stored = marked[0]
        continued = stored is not None
        if stored is None:
            stored = conn.execute(COUNT_LATEST_SESSION, _params(sender)).scalar_one()
        new = list(itertools.islice(tracker.events, stored, None))
        written = list(_not_erased(conn, sender, new))
        if written:
            conn.execute(INSERT_EVENT, [_row(sender, event) for event in written])
        newest = None
        if cache.max_events:
            if continued and len(written) == len(new) and _continues(tracker.events, new):
                newest = conn.execute(NEWEST_ID, {"sender": sender}).scalar() if written else marked[1]
            else:
                count, first, newest = conn.execute(LATEST_SESSION_SPAN, _params(sender)).one()
                if count != len(tracker.events) or not tracker.events or first != tracker.events[0].timestamp:
                    newest = None
    if newest is not None:  # committed
        tracker.__dict__[_STORED] = (len(tracker.events), newest)
        cache.keep(sender, tracker, newest, domain)
    else:
        cache.take(sender, domain)  # whatever was kept before is not what is stored now


def _row(sender: str, event: Any) -> dict[str, Any]:
    data = event.as_dict()
    return {
        "sender_id": sender,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _continues(events: Any, new: list[Any]) -> bool:
    """Whether ``new``, added after the stored session ``events`` begin with, stays in that session:
    none starts another, and none is older than its SessionStarted (Rasa finds the latest session by
    time; clocks of two replicas can differ)."""
    if any(isinstance(event, SessionStarted) for event in new):
        return False
    started = next((e.timestamp for e in itertools.islice(events, 2) if isinstance(e, SessionStarted)), None)
    return started is None or all((event.timestamp or 0) >= started for event in new)


class PostgresTrackerStore(SQLTrackerStore):
    """``type: bot.rasa_server.tracker_store.PostgresTrackerStore`` with Rasa's SQL store's settings."""

    engine: Any  # Rasa's SQL store's, replaced below
    event_broker: Any

    def __init__(self, domain: Any = None, **kwargs: Any) -> None:
        super().__init__(domain=domain, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        _create_erasures(self.engine)
        self.sessions = SessionCache.from_env()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, read as one plain statement (as the SQLite store does), once more on
        a fresh connection if the first was cut; a conversation that still cannot be read fails the
        turn."""

        async def attempt() -> DialogueStateTracker | None:
            return _read_latest_session(self.engine, self.domain, sender_id, self.sessions)

        try:
            return await _once_more("read", attempt, attempt)
        except DBAPIError as error:
            raise TrackerStoreUnavailable(f"the conversation {sender_id} could not be read") from error

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        """Rasa's own read, for the whole conversation (``retrieve_full_tracker``: Rasa's HTTP API
        and exports), with the same retry."""

        def attempt() -> Awaitable[Any]:
            return super(PostgresTrackerStore, self)._retrieve(sender_id, fetch_events_from_all_sessions)

        try:
            return await _once_more("read", attempt, attempt)
        except DBAPIError as error:
            raise TrackerStoreUnavailable(f"the conversation {sender_id} could not be read") from error

    async def save(self, tracker: DialogueStateTracker) -> None:
        """The events not stored yet, in one transaction; after a cut, once more on a fresh
        connection (the cut transaction was rolled back, and the count finds what is stored).
        The event broker, if any, gets the events once, before the first write."""
        turn_facts.note(tracker, self.domain)  # for the gateway channel's answer (turn_facts.py)
        await self.stream_events(tracker)

        async def write() -> None:
            _write_new_events(self.engine, tracker, self.sessions, self.domain)

        await _once_more("save", write, write)


BUSY_TIMEOUT_MS = 15_000
POOL_SIZE = 5


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


class SQLiteTrackerStore(SQLTrackerStore):
    """``type: bot.rasa_server.tracker_store.SQLiteTrackerStore`` with ``db: <path>`` (dialect is sqlite)."""

    engine: Any  # Rasa's SQL store's, replaced below

    def __init__(self, domain: Any = None, db: str = "rasa.db", **kwargs: Any) -> None:
        kwargs.pop("dialect", None)
        super().__init__(domain=domain, dialect="sqlite", db=db, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        if url.database in (None, "", ":memory:"):
            return  # an in-memory database lives in its one connection: keep Rasa's pool for it
        self.engine = sa.create_engine(
            url,
            poolclass=QueuePool,
            pool_size=POOL_SIZE,
            max_overflow=10,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        sa.event.listen(self.engine, "connect", _pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        _create_erasures(self.engine)
        self.sessions = SessionCache.from_env()
        self._plain_sql = True
        log.debug("tracker store: SQLite %s (WAL, pooled connections)", url.database)

    _plain_sql = False  # an in-memory database keeps Rasa's own code

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest conversation session, or None."""
        if not self._plain_sql:
            return await super().retrieve(sender_id)
        return _read_latest_session(self.engine, self.domain, sender_id, self.sessions)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Add the tracker's events that are not stored yet (counted as Rasa counts them)."""
        turn_facts.note(tracker, self.domain)  # for the gateway channel's answer (turn_facts.py)
        if not self._plain_sql:
            return await super().save(tracker)
        await self.stream_events(tracker)
        _write_new_events(self.engine, tracker, self.sessions, self.domain)
