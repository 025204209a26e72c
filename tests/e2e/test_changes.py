"""Subscription changes as customers really ask for them (issue 18), end to end: the replies a
person reads and the billing database afterwards.

- "licenses", "seats", "users" with no product are the edition's seats; the quote names the
  product and how to pick another per-user line ("say 'Inbox instead'"), which re-quotes;
- quantities are never dropped (digits, separators, words); out of range gets the range and sales;
- every form is filled first from the message that started it; corrections and interruptions;
- reductions, removals, downgrades and cancellation are explained and sales is offered: nothing
  is opened unless the customer chooses it.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.billing.adapters.orm import Handoff, Order
from tests.billing.helpers import count, quantity

# -- "licenses" means the edition's seats ----------------------------------------------------------


@pytest.mark.parametrize("request_text", ["add 5 licenses", "we need 5 more seats", "add five users"])
def test_licenses_without_a_product_are_the_editions_seats(chat, billing_db, request_text):
    alex = chat("alex")
    quote = alex.text(request_text)
    assert "Add 5 Enterprise licenses" in quote, quote
    assert "Inbox instead" in quote or "Dialer instead" in quote, quote
    assert "Yes" in alex.buttons()
    done = alex.press("Yes")
    assert re.search(r"ORD-\d+", done), done
    assert quantity(billing_db, "Acme Corp", "enterprise") == 45 and count(billing_db, Order) == 1


def test_inbox_instead_requotes_the_same_quantity_for_inbox(chat, billing_db):
    alex = chat("alex")
    first = alex.text("add 5 licenses")
    old_yes = next(b["payload"] for m in alex.last for b in m.get("buttons") or [] if b["title"] == "Yes")
    assert "Enterprise" in first
    requote = alex.text("Inbox instead")
    assert "Add 5 Inbox licenses" in requote, requote
    stale = alex.text(old_yes)  # the Enterprise quote can no longer be confirmed
    assert count(billing_db, Order) == 0 and quantity(billing_db, "Acme Corp", "enterprise") == 40, stale
    alex.text("make it Dialer")
    done = alex.text("yes")
    assert re.search(r"ORD-\d+", done), done
    assert quantity(billing_db, "Acme Corp", "dialer") == 10 and quantity(billing_db, "Acme Corp", "inbox") == 10
    assert quantity(billing_db, "Acme Corp", "enterprise") == 40 and count(billing_db, Order) == 1


def test_no_inbox_while_the_quote_waits_switches_the_product(chat, billing_db):
    alex = chat("alex")
    alex.text("add 3 seats")
    requote = alex.text("no, Inbox")
    assert "Add 3 Inbox licenses" in requote, requote
    alex.press("Yes")
    assert quantity(billing_db, "Acme Corp", "inbox") == 13 and quantity(billing_db, "Acme Corp", "enterprise") == 40


def test_a_named_add_on_picks_its_line_and_several_answers_fill_several_slots(chat, billing_db):
    alex = chat("alex")
    quote = alex.text("5 more dialer seats")
    assert "Add 5 Dialer licenses" in quote, quote
    alex.press("Yes")
    assert quantity(billing_db, "Acme Corp", "dialer") == 10 and quantity(billing_db, "Acme Corp", "enterprise") == 40


def test_add_licenses_without_a_number_asks_only_how_many(chat, billing_db):
    alex = chat("alex")
    asked = alex.text("add licenses")
    assert "how many" in asked.lower() and "which product" not in asked.lower(), asked
    quote = alex.text("a dozen")
    assert "Add 12 Enterprise licenses" in quote, quote
    corrected = alex.text("actually make it 4")
    assert "Add 4 Enterprise licenses" in corrected, corrected
    alex.press("Yes")
    assert quantity(billing_db, "Acme Corp", "enterprise") == 44 and count(billing_db, Order) == 1


# -- quantities are never dropped ------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_text",
    ["add 5000000 licenses", "add 5,000,000 licenses", "add two million licenses", "we need 50000 more seats"],
)
def test_a_quantity_out_of_range_gets_the_range_and_sales(chat, billing_db, request_text):
    alex = chat("alex")
    reply = alex.text(request_text)
    assert "10,000" in reply and "which product" not in reply.lower(), reply
    assert any("sales" in b.lower() for b in alex.buttons()), alex.buttons()
    assert count(billing_db, Order) == 0 and count(billing_db, Handoff) == 0


@pytest.mark.parametrize(
    "request_text, expected",
    [
        ("add 5 000 licenses", 5000),
        ("add 5k seats", 5000),
        ("add twenty-five licenses", 25),
        ("add a couple of seats", 2),
    ],
)
def test_quantities_in_any_form_are_kept(chat, billing_db, request_text, expected):
    alex = chat("alex")
    quote = alex.text(request_text)
    assert f"Add {expected:,} Enterprise licenses" in quote or f"Add {expected} Enterprise licenses" in quote, quote


# -- interruptions ---------------------------------------------------------------------------------


def test_a_question_in_the_middle_is_answered_and_the_question_asked_again(chat, billing_db):
    alex = chat("alex")
    alex.text("add licenses")
    answer = alex.text("how much do we owe?")
    assert "how many" in answer.lower(), answer
    quote = alex.text("6")
    assert "Add 6 Enterprise licenses" in quote, quote


def test_cancel_while_adding_stops_and_changes_nothing(chat, billing_db):
    alex = chat("alex")
    alex.text("add licenses")
    stopped = alex.text("never mind")
    assert "nothing has changed" in stopped.lower(), stopped
    assert count(billing_db, Order) == 0 and count(billing_db, Handoff) == 0


# -- what the assistant cannot do itself is explained, and sales offered ---------------------------


@pytest.mark.parametrize(
    "request_text", ["remove 3 dialer licenses", "reduce our seats to 30", "downgrade to Professional"]
)
def test_reductions_are_explained_and_sales_offered_without_opening_anything(chat, billing_db, request_text):
    alex = chat("alex")
    reply = alex.text(request_text)
    assert "renew" in reply.lower() and "mid-term" in reply.lower(), reply
    assert any("sales" in b.lower() for b in alex.buttons()), alex.buttons()
    assert count(billing_db, Handoff) == 0 and count(billing_db, Order) == 0
    assert quantity(billing_db, "Acme Corp", "dialer") == 5 and quantity(billing_db, "Acme Corp", "enterprise") == 40


def test_a_reduction_goes_to_sales_only_when_the_customer_chooses_it(chat, billing_db):
    alex = chat("alex")
    alex.text("remove 3 dialer licenses")
    handed = alex.press("sales")
    assert re.search(r"HO-\d+", handed), handed
    with billing_db.session() as s:
        handoff = s.scalar(select(Handoff))
        assert handoff.queue == "sales" and "Dialer" in handoff.reason
    assert quantity(billing_db, "Acme Corp", "dialer") == 5


def test_cancellation_is_explained_and_offered_not_opened(chat, billing_db):
    alex = chat("alex")
    reply = alex.text("we want to cancel our subscription")
    assert "renew" in reply.lower() and count(billing_db, Handoff) == 0, reply
    declined = alex.text("no thanks")
    assert count(billing_db, Handoff) == 0, declined
    alex.text("cancel our subscription")
    handed = alex.text("yes")
    assert re.search(r"HO-\d+", handed) and count(billing_db, Handoff) == 1, handed


def test_without_manage_billing_a_change_is_refused(chat, billing_db):
    sam = chat("sam")
    for request_text in ("add 5 licenses", "remove 3 dialer licenses"):
        reply = sam.text(request_text)
        assert "Manage Billing" in reply and "Alex Rivera" in reply, reply
    assert count(billing_db, Order) == 0 and count(billing_db, Handoff) == 0


def test_an_out_of_range_correction_keeps_the_waiting_quote(chat, billing_db):
    alex = chat("alex")
    alex.text("add 5 licenses")
    refused = alex.text("make it 20000")
    assert "10,000" in refused and any("sales" in b.lower() for b in alex.buttons()), refused
    assert count(billing_db, Handoff) == 0
    done = alex.text("yes")  # the quote that still stands: 5 Enterprise licenses
    assert re.search(r"ORD-\d+", done) or "Shall I place" in done, done
    if "Shall I place" in done:  # asked again first, since the last message was the refusal
        done = alex.press("Yes")
    assert quantity(billing_db, "Acme Corp", "enterprise") == 45 and count(billing_db, Order) == 1


def test_a_large_quantity_is_quoted_with_separators_and_the_sales_offer(chat, billing_db):
    alex = chat("alex")
    quote = alex.text("add 5 000 licenses")
    assert "Add 5,000 Enterprise licenses" in quote and "Talk to sales first" in alex.buttons(), quote


def test_a_subscription_question_while_the_quote_waits_shows_the_quote_again(chat, billing_db):
    alex = chat("alex")
    alex.text("add 5 licenses")
    answer = alex.text("what's on our subscription?")
    assert "Enterprise" in answer and "Add 5 Enterprise licenses" in answer and "Yes" in alex.buttons(), answer
    done = alex.text("yes")
    assert re.search(r"ORD-\d+", done), done
    assert quantity(billing_db, "Acme Corp", "enterprise") == 45


def test_buying_a_product_already_on_the_contract_quotes_its_licenses(chat, billing_db):
    alex = chat("alex")
    quote = alex.text("buy inbox for 5 users")
    assert "Add 5 Inbox licenses" in quote and "Yes" in alex.buttons(), quote
    alex.press("Yes")
    assert quantity(billing_db, "Acme Corp", "inbox") == 15 and count(billing_db, Order) == 1
