"""The retention rule and job (bot/privacy/stores.py, retention.py) on real SQLite and PostgreSQL:
one run deletes a conversation idle for longer than the retention period from every store, keeps a
fresh one and one that is active in any store, works through many conversations in batches, is
idempotent, and is audited without customer content. PostgreSQL at TEST_POSTGRES_URL (default
127.0.0.1:5432, trust auth): skipped without it, failed under CI=true."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from bot.gateway.config import GatewaySettings
from bot.gateway.handoff.store import handoffs
from bot.gateway.widget.history import messages
from bot.privacy.audit import Audit, audit
from bot.privacy.retention import run_once
from bot.privacy.stores import Conversations
from tests.privacy.rows import Databases, conversation, databases, held, now, session, texts

GONE = {"tracker_events": 0, "widget_messages": 0, "handoffs": 0, "ratings": 0}


@pytest.fixture(params=["sqlite", "postgresql"])
def dbs(request, tmp_path) -> Iterator[Databases]:
    yield from databases(request.param, tmp_path)


def settings(dbs: Databases, **extra) -> GatewaySettings:
    return GatewaySettings(gateway_database_url=dbs.gateway_url, rasa_tracker_url=dbs.tracker_url, **extra)


def test_one_run_deletes_an_idle_conversation_everywhere_and_keeps_fresh_and_active_ones(dbs):
    conversation(dbs, "wu-old", now() - timedelta(days=100), email="alex@acme.example", handoff=True)
    conversation(dbs, "wv-fresh", now() - timedelta(days=1), handoff=True)
    # Rasa's rows are old, but the customer wrote in the widget a minute ago: active, so not deleted;
    # its old widget message and rating are trimmed, and its tracker keeps its latest (only) session.
    conversation(dbs, "slack:T1:U1", now() - timedelta(days=100))
    with dbs.gateway.begin() as conn:
        conn.execute(insert(messages).values(sender="slack:T1:U1", author="user", body="{}", at=now()))

    done = run_once(settings(dbs, retention_days=90))

    assert done is not None and done.conversations == 1 and done.kept_active >= 1
    assert held(dbs, "wu-old") == GONE
    assert held(dbs, "wv-fresh") == {"tracker_events": 2, "widget_messages": 1, "handoffs": 1, "ratings": 1}
    assert held(dbs, "slack:T1:U1") == {"tracker_events": 2, "widget_messages": 1, "handoffs": 0, "ratings": 0}
    assert done.trimmed == {"tracker_events": 0, "widget_messages": 1, "handoffs": 0, "ratings": 1}
    assert done.rows == {"tracker_events": 2, "widget_messages": 1, "handoffs": 1, "ratings": 1}

    # Idempotent: a second run finds nothing more to do.
    again = run_once(settings(dbs, retention_days=90))
    assert again is not None and again.conversations == 0 and set(again.rows.values()) == {0}

    [second, first] = Audit(dbs.gateway).latest()
    assert first["action"] == "retention" and first["actor"] == "retention-job"
    assert first["conversations"] == 1 and first["counts"]["tracker_events"] == 2
    assert second["conversations"] == 0
    assert "alex" not in json.dumps([first, second]) and "wu-old" not in json.dumps([first, second])


def test_a_conversation_idle_exactly_inside_the_window_is_kept(dbs):
    conversation(dbs, "wv-edge", now() - timedelta(days=89, hours=23))
    done = run_once(settings(dbs, retention_days=90))
    assert done is not None and done.conversations == 0
    assert held(dbs, "wv-edge")["tracker_events"] == 2


def test_many_conversations_in_small_batches_all_go_and_the_erasure_markers_are_left(dbs):
    for i in range(25):
        conversation(dbs, f"wv-{i:03d}", now() - timedelta(days=120))
    conversation(dbs, "wv-keep", now())
    done = Conversations(dbs.gateway, dbs.tracker).expire(90, batch=4)
    assert done.conversations == 25
    assert all(held(dbs, f"wv-{i:03d}") == GONE for i in range(25))
    assert held(dbs, "wv-keep")["tracker_events"] == 2
    with dbs.tracker.connect() as conn:
        # one marker per deleted conversation, so a turn in flight cannot write the events back
        assert conn.execute(text("SELECT count(*) FROM conversation_erasures")).scalar_one() == 25


def test_bad_settings_are_refused_and_change_nothing(dbs):
    conversation(dbs, "wv-old", now() - timedelta(days=400))
    conversations = Conversations(dbs.gateway, dbs.tracker)
    with pytest.raises(ValueError, match="positive number of days"):
        conversations.expire(0)
    with pytest.raises(ValueError, match="batch size"):
        conversations.expire(90, batch=0)
    assert held(dbs, "wv-old")["tracker_events"] == 2


def test_the_audit_is_append_only(dbs):
    log = Audit(dbs.gateway)
    log.record("dana@vendor.example", "export", {"ratings": 1}, conversations=1, seconds=0.01)
    for statement in (update(audit).values(actor="someone else"), delete(audit)):
        with pytest.raises(DBAPIError, match="append-only"), dbs.gateway.begin() as conn:
            conn.execute(statement)
    with dbs.gateway.connect() as conn:
        assert conn.execute(select(audit.c.actor)).scalars().all() == ["dana@vendor.example"]


def test_a_second_run_at_the_same_time_does_nothing_on_postgresql(dbs):
    if dbs.gateway.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; make run's SQLite has one job process")
    conversation(dbs, "wv-old", now() - timedelta(days=100))
    with dbs.gateway.connect() as conn:
        assert conn.execute(text("SELECT pg_try_advisory_lock(7226150918)")).scalar()
        assert run_once(settings(dbs)) is None  # another run holds the lock
        assert held(dbs, "wv-old")["tracker_events"] == 2
        conn.execute(text("SELECT pg_advisory_unlock(7226150918)"))
    assert run_once(settings(dbs)) is not None
    assert held(dbs, "wv-old") == GONE


def test_an_active_conversation_loses_what_is_older_than_the_period_and_keeps_the_rest(dbs):
    """A Slack DM is one conversation for ever (its sender id is the user's): being active today must
    not keep what it said a year ago. Whole Rasa sessions older than the period go, the latest
    session always stays (it is what Rasa reads on the next turn), and so do newer rows elsewhere."""
    dm = "slack:T1:U1"
    # a turn from before sessions were recorded, a widget message, a rating and a closed handoff, long ago
    conversation(dbs, dm, now() - timedelta(days=500), handoff=True)
    for days, said in ((400, "a year ago"), (200, "in the spring"), (95, "three months ago"), (1, "yesterday")):
        session(dbs, dm, now() - timedelta(days=days), said)
    with dbs.gateway.begin() as conn:
        conn.execute(insert(messages).values(sender=dm, author="user", body='{"text": "hi"}', at=now()))
    # a conversation whose only (latest) session started long ago, kept active by a fresh widget row
    quiet = "wu-quiet"
    session(dbs, quiet, now() - timedelta(days=120), "the only session")
    with dbs.gateway.begin() as conn:
        conn.execute(insert(messages).values(sender=quiet, author="user", body='{"text": "hi"}', at=now()))

    done = Conversations(dbs.gateway, dbs.tracker).expire(90)

    assert texts(dbs, dm) == ["yesterday"]
    assert held(dbs, dm) == {"tracker_events": 5, "widget_messages": 1, "handoffs": 0, "ratings": 0}
    assert texts(dbs, quiet) == ["the only session"], "the latest session is what Rasa reads: it stays"
    assert done.conversations == 0, "no conversation was idle"
    # the DM's three old sessions and its turn from before sessions; and the quiet one's session
    # start action, written just before its session_started, which Rasa does not read back
    assert done.trimmed == {"tracker_events": 15 + 2 + 1, "widget_messages": 1, "handoffs": 1, "ratings": 1}
    again = Conversations(dbs.gateway, dbs.tracker).expire(90)
    assert sum(again.trimmed.values()) == 0


def test_an_open_handoff_is_never_trimmed(dbs):
    """A handoff still open or claimed is a rep's live work, however old its first message."""
    sender = "wu-waiting"
    session(dbs, sender, now() - timedelta(hours=1))
    conversation(dbs, sender, now() - timedelta(days=200), handoff=True)
    with dbs.gateway.begin() as conn:
        conn.execute(update(handoffs).where(handoffs.c.sender == sender).values(status="claimed", closed_at=None))
    Conversations(dbs.gateway, dbs.tracker).expire(90)
    assert held(dbs, sender)["handoffs"] == 1
