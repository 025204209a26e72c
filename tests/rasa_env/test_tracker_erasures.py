"""Our tracker stores (bot/rasa_server/tracker_store.py) after a conversation was deleted under a
running turn (bot/privacy/tracker_rows.py deletes the rows and leaves a marker): the turn's save
must not write the deleted events back from its in-memory tracker, on SQLite and on PostgreSQL
(127.0.0.1:5432, trust auth; skipped without it, failed under CI=true)."""

from __future__ import annotations

import asyncio
import hashlib
import time

import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

from bot.privacy.tracker_rows import TRIM
from bot.rasa_server.tracker_store import PostgresTrackerStore, SQLiteTrackerStore
from tests.rasa_env.test_rasa_speed import DOMAIN, _tracker
from tests.rasa_env.test_tracker_store_pg import HOST, PORT
from tests.rasa_env.test_tracker_store_pg import database as database


def _erase_under(store, sender: str) -> None:
    """What bot/privacy/tracker_rows.py does for an erasure (the app environment's SQL, verbatim)."""
    key = hashlib.sha256(sender.encode()).hexdigest()
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM conversation_erasures WHERE sender_key = :k"), {"k": key})
        conn.execute(
            sa.text("INSERT INTO conversation_erasures (sender_key, before_ts, erased_at) VALUES (:k, :b, :b)"),
            {"k": key, "b": time.time()},
        )
        conn.execute(sa.text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})


def _stored_texts(store, sender: str) -> list[str]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}).all()
    import json

    return [json.loads(d).get("text") for (d,) in rows if json.loads(d).get("text")]


def _a_turn_across_an_erasure(store) -> None:
    asyncio.run(store.save(_tracker("alex")))
    asyncio.run(store.save(_tracker("sam")))
    running = asyncio.run(store.retrieve("alex"))  # a turn has read the conversation ...
    assert running is not None
    _erase_under(store, "alex")  # ... the admin erases it ...
    time.sleep(0.01)
    running.update(UserUttered("after the erasure", {"name": "greet", "confidence": 1.0}))
    running.update(BotUttered("ok"))
    asyncio.run(store.save(running))  # ... and the turn saves: only what came after is stored
    assert _stored_texts(store, "alex") == ["after the erasure", "ok"]
    assert _stored_texts(store, "sam") == ["hello", "hi"]  # another conversation is untouched
    tracker = asyncio.run(store.retrieve("alex"))
    assert tracker is not None and "hello" not in [getattr(e, "text", None) for e in tracker.events]


def test_sqlite_store_does_not_write_erased_events_back(tmp_path):
    _a_turn_across_an_erasure(SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "rasa.db")))


def test_postgres_store_does_not_write_erased_events_back(database):
    store = PostgresTrackerStore(DOMAIN, dialect="postgresql", host=HOST, port=PORT, db=database, username="postgres")
    _a_turn_across_an_erasure(store)


def test_without_a_marker_saves_are_unchanged(tmp_path):
    store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "rasa.db"))
    asyncio.run(store.save(_tracker("alex")))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE sender_id = 'alex'"))
    asyncio.run(store.save(_tracker("alex")))  # Rasa's own behaviour: the unstored events are written
    assert _stored_texts(store, "alex") == ["hello", "hi"]


def _a_turn_across_a_trim(store) -> None:
    """Retention trims an active conversation (bot/privacy/tracker_rows.py's TRIM, the app
    environment's own statement): its old session goes while a turn of the latest one is running,
    and the turn's save neither writes the old session back nor loses the latest one."""
    asyncio.run(store.save(_tracker("alex")))  # the first session ...
    long_ago = time.time() - 100 * 86_400
    with store.engine.begin() as conn:  # ... was a hundred days ago
        conn.execute(sa.text("UPDATE events SET timestamp = timestamp - :shift"), {"shift": time.time() - long_ago})
    latest = asyncio.run(store.retrieve("alex"))
    assert latest is not None
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        latest.update(event)
    latest.update(UserUttered("today", {"name": "greet", "confidence": 1.0}))
    asyncio.run(store.save(latest))
    running = asyncio.run(store.retrieve("alex"))  # a turn of today's session has read it ...
    assert running is not None
    with store.engine.begin() as conn:  # ... and the retention job trims the conversation
        gone = conn.execute(TRIM, {"senders": ["alex"], "cutoff": time.time() - 90 * 86_400}).rowcount
    assert gone == 7  # the whole first session
    running.update(BotUttered("still here"))
    asyncio.run(store.save(running))
    assert _stored_texts(store, "alex") == ["today", "still here"]
    tracker = asyncio.run(store.retrieve("alex"))
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["today"]


def test_sqlite_store_after_a_trim_keeps_the_latest_session_and_nothing_older(tmp_path):
    _a_turn_across_a_trim(SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "rasa.db")))


def test_postgres_store_after_a_trim_keeps_the_latest_session_and_nothing_older(database):
    store = PostgresTrackerStore(DOMAIN, dialect="postgresql", host=HOST, port=PORT, db=database, username="postgres")
    _a_turn_across_a_trim(store)
