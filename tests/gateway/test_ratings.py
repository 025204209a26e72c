"""The rating policy (bot/gateway/ratings.py) on a real SQLite database: once per session, taps
checked against the conversation's own offer, the comment after "not helpful"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, update

from bot.gateway.ratings import MAX_COMMENT, SESSION, Ratings, ratings


@pytest.fixture
def store(tmp_path) -> Ratings:
    return Ratings(create_engine(f"sqlite:///{tmp_path / 'gateway.sqlite3'}"))


def test_one_offer_a_session_whatever_became_of_it(store):
    first = store.offer_sync("wu-a", "widget", "order_placed", customer="alex@acme.example")
    assert first is not None
    assert store.offer_sync("wu-a", "widget", "invoice_sent") is None  # still open: no second prompt
    assert store.rate_sync("wu-a", first, "helpful").ok
    assert store.offer_sync("wu-a", "widget", "invoice_sent") is None  # rated: not again this session
    assert store.offer_sync("wu-b", "widget", "invoice_sent") is not None  # another conversation
    with store.engine.begin() as conn:  # the session is over
        conn.execute(update(ratings).values(offered_at=ratings.c.offered_at - SESSION - timedelta(minutes=1)))
    assert store.offer_sync("wu-a", "widget", "invoice_sent") is not None


def test_not_a_task_gets_no_offer(store):
    assert store.offer_sync("wu-a", "widget", "prices_shown") is None


def test_a_passed_by_offer_is_dismissed_and_a_typed_message_still_reaches_the_assistant(store):
    offer = store.offer_sync("wu-a", "slack", "case_opened")
    assert store.before_turn_sync("wu-a", "add 5 licenses", typed=True) == ("pass", None)
    assert store.get_sync(offer)["state"] == "dismissed"


def test_taps_are_checked_against_this_conversations_offer(store):
    offer = store.offer_sync("wu-a", "widget", "order_placed")
    assert not store.rate_sync("wu-other", offer, "helpful").ok  # another conversation's offer
    assert not store.rate_sync("wu-a", "forged", "helpful").ok
    assert not store.rate_sync("wu-a", offer, "yes").ok
    assert not store.rate_sync("wu-a", offer, "skip").ok  # nothing to skip yet
    assert store.get_sync(offer)["state"] == "offered"
    assert store.rate_sync("wu-a", offer, "not_helpful").ok
    assert not store.rate_sync("wu-a", offer, "helpful").ok  # rated already
    assert store.get_sync(offer)["state"] == "not_helpful"


def test_the_comment_is_the_next_typed_message_redacted_and_a_button_ends_the_wait(store):
    offer = store.offer_sync("wu-a", "widget", "order_placed")
    store.rate_sync("wu-a", offer, "not_helpful")
    outcome, answer = store.before_turn_sync("wu-a", "y" * (MAX_COMMENT + 1), typed=True)
    assert outcome == "too_long" and answer is not None and not answer.ok
    assert store.get_sync(offer)["comment"] is None
    outcome, _ = store.before_turn_sync("wu-a", "wrong total, card 4111 1111 1111 1111", typed=True)
    assert outcome == "comment"
    comment = store.get_sync(offer)["comment"]
    assert "wrong total" in comment and "1111" not in comment
    assert store.before_turn_sync("wu-a", "and another thing", typed=True) == ("pass", None)  # once
    second = store.offer_sync("wu-b", "widget", "order_placed")
    store.rate_sync("wu-b", second, "not_helpful")
    assert store.before_turn_sync("wu-b", "/affirm", typed=False) == ("pass", None)  # a button: no comment
    assert store.get_sync(second)["comment"] is None
