"""Unhappy paths end to end: billing down, billing slow (the real backend behind a TCP proxy that
holds its answers back), and a question in the middle of a form."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.billing.adapters.orm import Order
from bot.launch.runner import Service, free_port
from tests.billing.helpers import count, quantity
from tests.e2e.faultkit import DelayProxy

SLOW_S = 8.0  # billing's answers arrive this late: longer than the client's 5 s budget


@contextmanager
def billing_behind_proxy(stack) -> Iterator[DelayProxy]:
    """The real billing backend moved to another port, a ``DelayProxy`` on its old one (answering
    at once until told to delay); afterwards billing is back on its own port."""
    billing = stack.service("billing")
    billing.stop()
    port = free_port()
    moved = Service(
        "billing-behind-proxy",
        billing.argv,
        {**billing.env, "BILLING_PORT": str(port)},
        f"http://127.0.0.1:{port}/healthz",
        billing.log_path,
    )
    moved.start()
    proxy = None
    try:
        moved.wait_ready(60)
        proxy = DelayProxy(stack.billing_port, port).start()
        yield proxy
    finally:
        if proxy is not None:
            proxy.stop()
        moved.stop()
        stack.restart("billing")


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


def test_billing_slow_is_said_within_5_s_nothing_changes_and_it_recovers_by_itself(chat, stack, billing_db):
    alex = chat("alex")
    assert "$165.00" in alex.text("add 5 licenses")  # a quote, while billing is quick
    quote_yes = next(b["payload"] for m in alex.last for b in m.get("buttons") or [] if b["title"] == "Yes")
    with billing_behind_proxy(stack) as proxy:
        proxy.delay_s = SLOW_S
        started = time.monotonic()
        balance = alex.text("what's my balance?")
        assert time.monotonic() - started < 5 + 1, time.monotonic() - started
        assert "nothing was changed" in balance and "1-800-667-6389" in balance, balance
        assert alex.buttons() == ["Talk to a person"]

        # The bot's last message offered a person, not the quote: a typed yes takes that offer
        # (which billing is too slow to open) and never the order waiting further up.
        started = time.monotonic()
        person = alex.text("yes")
        assert time.monotonic() - started < 5 + 1, time.monotonic() - started
        assert "1-800-667-6389" in person and not re.search(r"ORD-\d+", person), person
        assert count(billing_db, Order) == 0

        started = time.monotonic()
        confirmed = alex.text(quote_yes)  # the quote's own Yes, pressed further up
        assert time.monotonic() - started < 5 + 1, time.monotonic() - started
        assert "nothing was changed" in confirmed and not re.search(r"ORD-\d+", confirmed), confirmed

        proxy.delay_s = 0.0  # billing is quick again: no restart, nothing to reset
        time.sleep(SLOW_S)  # the late answers drain
        assert count(billing_db, Order) == 0  # what the customer was told is true
        assert "$" in alex.text("what's my balance?")  # recovered by itself
        alex.text("add 5 licenses")
        assert re.search(r"ORD-\d+", alex.press("Yes"))
    assert count(billing_db, Order) == 1 and quantity(billing_db, "Acme Corp", "enterprise") == 45


def test_an_order_whose_answer_is_lost_is_retried_with_yes_and_applied_once(chat, stack, billing_db):
    """Billing places the order but its answer comes too late: the customer is told it may have
    gone through and that "yes" again is safe; "yes" then reports the same order, and it exists once
    (asking afresh would have made a new quote with a new key: a second order)."""
    alex = chat("alex")
    assert "$165.00" in alex.text("add 5 licenses")  # golden 1: the edition's seats, quoted at once
    with billing_behind_proxy(stack) as proxy:
        proxy.only, proxy.delay_s = b"POST /v1/orders", SLOW_S  # reads answer at once
        started = time.monotonic()
        unsure = alex.text("yes")
        assert time.monotonic() - started < 5 + 1, time.monotonic() - started
        assert "safe" in unsure and 'Say "yes" to try again' in unsure, unsure
        assert "nothing was changed" not in unsure and not re.search(r"ORD-\d+", unsure), unsure
        proxy.delay_s = 0.0
        time.sleep(SLOW_S)  # the late answer drains
        assert count(billing_db, Order) == 1  # billing did apply it
        done = alex.text("yes")
        assert re.search(r"ORD-\d+", done), done
        assert count(billing_db, Order) == 1 and quantity(billing_db, "Acme Corp", "enterprise") == 45
        assert "nothing" in alex.text("yes").lower()  # and a third yes has nothing left to do
    assert count(billing_db, Order) == 1


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
