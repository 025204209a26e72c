"""Unhappy paths end to end: billing down, and a question in the middle of a form."""
from __future__ import annotations

import time

from tests.billing.helpers import count
from bot.billing.adapters.orm import Order


def test_billing_down_is_said_within_5_s_and_nothing_changes(chat, stack, billing_db):
    alex = chat("alex")
    stack.service("billing").stop()
    try:
        started = time.monotonic()
        reply = alex.text("what's my balance?")
        elapsed = time.monotonic() - started
        assert "can't be reached" in reply and "nothing was changed" in reply and "1-800-667-6389" in reply, reply
        assert elapsed < 5 + 1, elapsed  # the client's budget is 5 s; 1 s for Rasa around it
        assert any("person" in b.lower() for b in alex.buttons())
    finally:
        stack.restart("billing")
    assert "INV-" in alex.text("what's my balance?")  # recovers by itself
    assert count(billing_db, Order) == 0


def test_a_question_mid_form_is_answered_and_the_form_resumes(chat, billing_db):
    alex = chat("alex")
    asked = alex.text("add licenses")
    assert "which" in asked.lower() or "how many" in asked.lower(), asked
    interrupted = alex.text("what's my balance?")
    assert "$" in interrupted, interrupted
    assert "which" in interrupted.lower() or "how many" in interrupted.lower(), interrupted  # the form asks again


def test_asking_for_a_person_mid_form_stops_the_form_and_hands_over(chat, billing_db):
    from sqlalchemy import select

    from bot.billing.adapters.orm import Handoff

    alex = chat("alex")
    alex.text("add licenses")
    reply = alex.text("can i talk to a real person please")
    assert "HO-" in reply, reply
    with billing_db.session() as s:
        handoff = s.scalar(select(Handoff))
        assert handoff is not None and handoff.conversation_id == alex.sender
        assert any("add licenses" in line["text"] for line in handoff.transcript)
    assert "which" not in alex.text("thanks").lower()  # the form is over
