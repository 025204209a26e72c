"""A conversation's next turn gets back the tracker this process saved (bot/rasa_server/
session_cache.py) only when that is exactly what the database holds: on SQLite and on PostgreSQL
(127.0.0.1:5432; skipped without it, failed under CI=true)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.importers.importer import TrainingDataImporter

from bot.rasa_server import patches as rasa_patches
from bot.rasa_server.session_cache import SessionCache
from bot.rasa_server.tracker_store import PostgresTrackerStore, SQLiteTrackerStore
from tests.rasa_env.test_tracker_erasures import _erase_under
from tests.rasa_env.test_tracker_store_pg import HOST, PORT
from tests.rasa_env.test_tracker_store_pg import database as database

ROOT = Path(__file__).resolve().parents[2]
_clock = itertools.count(int(time.time()) * 1000)


def _now() -> float:
    """Strictly increasing timestamps, as a live conversation's events have."""
    return next(_clock) / 1000


def _fresh(event: Event) -> Event:
    data = event.as_dict()
    data["timestamp"] = _now()
    return Event.from_parameters(data)


def _session_start() -> list[Event]:
    start = (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"))
    return [_fresh(event) for event in start]


@pytest.fixture(scope="module")
def training():
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "bot" / "domain"), training_data_paths=[str(ROOT / "stories"), str(ROOT / "nlu_data")]
    )
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    stories = sorted((list(t.events) for t in trackers), key=lambda events: -len(_turns(events)))
    # the longest stories, and sessions in which a customer asks for one thing after another
    chained = [[event for story in stories[start::7][:12] for event in story] for start in range(4)]
    return domain, stories[:20] + chained


def _turns(events: list[Event]) -> list[list[Event]]:
    """A conversation cut into turns, each starting at a customer's message."""
    turns: list[list[Event]] = [[]]
    for event in events:
        if isinstance(event, UserUttered) and turns[-1]:
            turns.append([])
        turns[-1].append(event)
    return turns


def _later_turns(conversations: list[list[Event]]) -> int:
    return sum(len(_turns(events)) - 1 for events in conversations)


def _sqlite(domain, path: Path, cache: str | None = None, monkeypatch=None):
    if cache is not None:
        monkeypatch.setenv("RASA_TRACKER_CACHE_EVENTS", cache)
    return SQLiteTrackerStore(domain, db=str(path))


def _postgres(domain, database: str, cache: str | None = None, monkeypatch=None):
    if cache is not None:
        monkeypatch.setenv("RASA_TRACKER_CACHE_EVENTS", cache)
    return PostgresTrackerStore(domain, dialect="postgresql", host=HOST, port=PORT, db=database, username="postgres")


def _run(coroutine):
    return asyncio.run(coroutine)


def _same_conversation(kept: DialogueStateTracker, read: DialogueStateTracker, domain) -> None:
    assert kept.current_state(EventVerbosity.ALL) == read.current_state(EventVerbosity.ALL)
    assert domain.states_for_tracker_history(kept) == domain.states_for_tracker_history(read)


def _every_training_conversation(store, reader, domain, conversations) -> int:
    """Each training conversation turn by turn, as Rasa runs it: read, the turn's events, the
    state history RulePolicy asks for, save. After each save, what the next turn will get must be
    the saved tracker itself and equal a fresh read of the database. Returns the turns served
    from the cache."""
    served = 0
    for number, events in enumerate(conversations):
        sender = f"conversation-{number}"
        for index, turn in enumerate(_turns(events)):
            tracker = _run(store.retrieve(sender))
            if tracker is None:
                tracker = DialogueStateTracker(sender, domain.slots)
                for event in _session_start():
                    tracker.update(event)
            for event in turn:
                tracker.update(_fresh(event))
            domain.states_for_tracker_history(tracker)  # RulePolicy's question, kept on the tracker
            _run(store.save(tracker))
            read = _run(reader.retrieve(sender))
            assert read is not None
            kept = _run(store.retrieve(sender))
            if index == 0:  # the turn that started the session holds one event more than the session
                assert kept is not tracker
            else:
                assert kept is tracker
                served += 1
            _same_conversation(kept, read, domain)
            _run(store.save(kept))  # nothing new: kept again for the next turn
    return served


def test_sqlite_every_training_conversation_gets_back_what_the_database_holds(tmp_path, training, monkeypatch):
    domain, conversations = training
    rasa_patches.apply()
    store = _sqlite(domain, tmp_path / "rasa.db")
    reader = _sqlite(domain, tmp_path / "rasa.db", cache="0", monkeypatch=monkeypatch)
    assert _every_training_conversation(store, reader, domain, conversations) == _later_turns(conversations)


def test_postgres_every_training_conversation_gets_back_what_the_database_holds(database, training, monkeypatch):
    domain, conversations = training
    rasa_patches.apply()
    store = _postgres(domain, database)
    reader = _postgres(domain, database, cache="0", monkeypatch=monkeypatch)
    assert _every_training_conversation(store, reader, domain, conversations) == _later_turns(conversations)


def _two_turns(store, domain, sender: str = "alex") -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, domain.slots)
    for event in [*_session_start(), _fresh(UserUttered("hello", {"name": "greet", "confidence": 1.0}))]:
        tracker.update(event)
    _run(store.save(tracker))
    tracker = _run(store.retrieve(sender))
    for event in (BotUttered("hi"), ActionExecuted("action_listen")):
        tracker.update(_fresh(event))
    _run(store.save(tracker))
    return tracker


def _texts(tracker: DialogueStateTracker | None) -> list[str]:
    return [e.text for e in (tracker.events if tracker else []) if getattr(e, "text", None)]


def _cases(store, other, domain) -> None:
    # another process (a second replica) answers a turn: this one reads what it wrote
    saved = _two_turns(store, domain)
    theirs = _run(other.retrieve("alex"))
    theirs.update(_fresh(UserUttered("and my invoice?", {"name": "get_invoice", "confidence": 1.0})))
    _run(other.save(theirs))
    mine = _run(store.retrieve("alex"))
    assert mine is not saved and _texts(mine) == ["hello", "hi", "and my invoice?"]

    # a turn that fails half-way leaves nothing behind: its changes were never saved
    _run(store.save(mine))
    failed = _run(store.retrieve("alex"))
    assert failed is mine
    failed.update(_fresh(SlotSet("invoice_number", "INV-1041")))
    again = _run(store.retrieve("alex"))
    assert again is not failed and again.get_slot("invoice_number") is None

    # an erasure: the conversation starts afresh
    _run(store.save(again))
    _erase_under(store, "alex")
    assert _run(store.retrieve("alex")) is None

    # a turn that starts a new session holds two sessions: not kept
    old = _two_turns(store, domain, "sam")
    for event in [*_session_start(), _fresh(UserUttered("back again", {"name": "greet", "confidence": 1.0}))]:
        old.update(event)
    _run(store.save(old))
    read = _run(store.retrieve("sam"))
    assert read is not old and _texts(read) == ["back again"]

    # a kept tracker's turn while its conversation is erased: only what came after is stored
    _run(store.save(read))
    mine = _run(store.retrieve("sam"))
    assert mine is read
    _erase_under(store, "sam")
    mine.update(UserUttered("after the erasure", {"name": "greet", "confidence": 1.0}, timestamp=time.time() + 1))
    _run(store.save(mine))
    assert _texts(_run(store.retrieve("sam"))) == ["after the erasure"]

    # an event stamped before its session started (another replica's clock behind): Rasa's query
    # leaves it out of the session, so the tracker that holds it is not handed out again
    kept = _two_turns(store, domain, "kim")
    mine = _run(store.retrieve("kim"))
    assert mine is kept
    mine.update(UserUttered("from a slow clock", {"name": "greet", "confidence": 1.0}, timestamp=1.0))
    _run(store.save(mine))
    read = _run(store.retrieve("kim"))
    assert read is not mine and _texts(read) == ["hello", "hi"]


def _session_of(store, domain, sender: str, messages: int):
    """A session of ``messages`` turns saved turn by turn; the SQL of the last save."""
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    tracker = _two_turns(store, domain, sender)
    for number in range(messages):
        tracker = _run(store.retrieve(sender))
        statements.clear()
        for event in (_fresh(UserUttered(f"message {number}", {"name": "greet", "confidence": 1.0})),
                      _fresh(BotUttered(f"answer {number}")), _fresh(ActionExecuted("action_listen"))):  # fmt: skip
            tracker.update(event)
        _run(store.save(tracker))
    return tracker, statements


def _long_sessions(store, reader, domain) -> None:
    """A long session's saves write its new events without counting the session's stored ones,
    and store what Rasa's count would have."""
    tracker, statements = _session_of(store, domain, "long", 40)
    assert not [sql for sql in statements if "count(" in sql]
    assert _texts(_run(reader.retrieve("long"))) == _texts(tracker)
    assert len(_texts(tracker)) == 2 + 2 * 40


def test_sqlite_keeps_nothing_the_database_does_not_hold(tmp_path, monkeypatch):
    from tests.rasa_env.test_rasa_speed import DOMAIN

    store = _sqlite(DOMAIN, tmp_path / "rasa.db")
    other = _sqlite(DOMAIN, tmp_path / "rasa.db")
    _cases(store, other, DOMAIN)
    _long_sessions(store, _sqlite(DOMAIN, tmp_path / "rasa.db", cache="0", monkeypatch=monkeypatch), DOMAIN)


def test_postgres_keeps_nothing_the_database_does_not_hold(database, monkeypatch):
    from tests.rasa_env.test_rasa_speed import DOMAIN

    _cases(_postgres(DOMAIN, database), _postgres(DOMAIN, database), DOMAIN)
    store = _postgres(DOMAIN, database)  # before the reader: its setting holds for the rest of the test
    _long_sessions(store, _postgres(DOMAIN, database, cache="0", monkeypatch=monkeypatch), DOMAIN)


def test_a_conversation_read_after_the_database_was_changed_behind_its_back(tmp_path):
    """A write this process did not make (a repair, an import) is seen too: the newest id moved."""
    from tests.rasa_env.test_rasa_speed import DOMAIN

    store = _sqlite(DOMAIN, tmp_path / "rasa.db")
    saved = _two_turns(store, DOMAIN)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE id = (SELECT max(id) FROM events)"))
    read = _run(store.retrieve("alex"))
    assert read is not saved and len(read.events) == len(saved.events) - 1


def test_the_cache_holds_at_most_its_events_least_recently_saved_out_first():
    cache = SessionCache(max_events=10)
    trackers = {name: DialogueStateTracker.from_events(name, [ActionExecuted("action_listen")] * 4) for name in "abc"}
    for name, tracker in trackers.items():
        cache.keep(name, tracker, 1, None)
    assert len(cache) == 2 and cache.take("a", None) is None
    assert cache.take("b", None) == (trackers["b"], 1) and cache.take("b", None) is None
    assert cache.take("c", object()) is None  # built with another model's domain
    big = DialogueStateTracker.from_events("d", [ActionExecuted("action_listen")] * 11)
    cache.keep("d", big, 1, None)
    assert len(cache) == 0


def test_the_cache_size_comes_from_the_environment():
    assert SessionCache.from_env({"RASA_TRACKER_CACHE_EVENTS": "0"}).max_events == 0
    assert SessionCache.from_env({}).max_events > 10_000
    with pytest.raises(SystemExit, match="a whole number of events"):
        SessionCache.from_env({"RASA_TRACKER_CACHE_EVENTS": "lots"})
    with pytest.raises(SystemExit, match="a whole number of events"):
        SessionCache.from_env({"RASA_TRACKER_CACHE_EVENTS": "-1"})
