"""Nothing changes without the customer's own confirmation of what they were shown (issue 17, items
2 and 3): an old quote's Yes, a typed yes that answers another message, and text that says nothing
never place an order. Through the real stack (Rasa with the trained model, actions, billing), over
the gateway's Rasa channel and, for the old Slack button, through the gateway with Slack on."""

from __future__ import annotations

import re

import pytest

from bot.billing.adapters.orm import Order, Payment
from tests.billing.helpers import count, quantity
from tests.e2e.test_slack import as_message, buttons, slack, slack_gateway  # noqa: F401 - fixtures

ORDER = re.compile(r"ORD-\d+")


def button(conversation, title: str) -> str:
    """The payload of the button titled ``title`` in the last reply."""
    found = [b["payload"] for m in conversation.last for b in m.get("buttons") or [] if b["title"] == title]
    assert found, (title, conversation.last)
    return found[0]


def quote_number(text: str) -> str:
    found = re.search(r"Q-\d+", text)
    assert found, text
    return found.group(0)


def test_an_older_quotes_yes_does_not_place_the_quote_pending_now(chat, billing_db):
    alex = chat("alex")
    first = alex.text("add 2 dialer licenses")
    old_yes, old_no = button(alex, "Yes"), button(alex, "No")
    second = alex.text("add 7 inbox licenses")
    assert quote_number(first) != quote_number(second)
    dialer, inbox = quantity(billing_db, "Acme Corp", "dialer"), quantity(billing_db, "Acme Corp", "inbox")

    stale = alex.text(old_yes)  # quote A's Yes, pressed while quote B waits
    assert "no longer current" in stale and "haven't changed anything" in stale, stale
    assert quote_number(second) in stale and "Yes" in alex.buttons(), stale  # B, shown again with its buttons
    assert not ORDER.search(stale) and count(billing_db, Order) == 0

    for unbound in ("/affirm", "/affirm{}", '/affirm{"confirms":"quote:Q-1"}', '/affirm{"confirms":'):
        alex.text(unbound)  # a Yes that names no quote, or another one (an old button, typed by hand)
        assert count(billing_db, Order) == 0, unbound
    alex.text(old_no)  # A's No neither cancels B ...
    assert count(billing_db, Order) == 0
    done = alex.text(button(alex, "Yes"))  # ... whose own Yes still orders it
    assert ORDER.search(done), done
    assert quantity(billing_db, "Acme Corp", "inbox") == inbox + 7
    assert quantity(billing_db, "Acme Corp", "dialer") == dialer
    assert count(billing_db, Order) == 1

    again = alex.text(old_yes)  # and nothing older orders anything afterwards
    assert not ORDER.search(again) and count(billing_db, Order) == 1, again


def test_a_typed_yes_confirms_only_the_question_asked_last(chat, billing_db):
    alex = chat("alex")
    quote = alex.text("add 3 dialer licenses")
    number = quote_number(quote)
    alex.text("what can you do?")  # the bot answers something else in between
    again = alex.text("yes")
    assert count(billing_db, Order) == 0, again
    assert number in again and "Yes" in alex.buttons(), again  # the pending quote first, with its buttons
    done = alex.text("yes")
    assert ORDER.search(done) and count(billing_db, Order) == 1, done


def test_a_typed_yes_confirms_only_the_payment_asked_last(chat, billing_db):
    alex = chat("alex")
    payments = count(billing_db, Payment)  # the demo's earlier ones
    asked = alex.text("pay INV-1041")
    assert "INV-1041" in asked and "Yes" in alex.buttons(), asked
    alex.text("hello")
    again = alex.text("yes please")
    assert count(billing_db, Payment) == payments and "INV-1041" in again and "Yes" in alex.buttons(), again


JUNK = [
    "-",
    "--",
    "...",
    "?",
    "!!",
    "👍",
    "\u200b",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "\u2066\u2069",
    "\u200b\u200c\u200d",
    " - ",
    "\u3000",
    "\u180e",
    "\U000e0001",
    "·",
    "…",
    "~",
    "*",
    "¯",
]


@pytest.mark.parametrize("junk", JUNK, ids=[f"U+{ord(j[0]):04X}x{len(j)}" for j in JUNK])
def test_text_with_no_letter_or_digit_is_never_a_yes(chat, billing_db, stack, junk):
    alex = chat("alex")
    alex.text("add 2 dialer licenses")
    assert "Yes" in alex.buttons()
    answer = alex.client.post(
        stack.webhook_url, json={"sender": alex.sender, "message": junk, "metadata": alex.metadata}
    )
    assert answer.status_code in (200, 400), answer.text  # refused, or answered; never an error
    said = " ".join(m.get("text") or "" for m in answer.json()) if answer.status_code == 200 else ""
    assert not ORDER.search(said) and count(billing_db, Order) == 0, said
    assert count(billing_db, Order) == 0


def test_a_stale_yes_in_slack_history_does_not_confirm_the_newer_quote(slack, billing_db):
    dm = "DUALEX"
    slack.send.event(slack.send.dm("UALEX", "add 2 dialer licenses"))
    first = slack.wait_posts(dm, 1)[-1]
    slack.send.event(slack.send.dm("UALEX", "add 7 inbox licenses"))
    second = slack.wait_posts(dm, 2)[-1]
    assert "Dialer" in first.args["text"] and "Inbox" in second.args["text"], (first.args, second.args)
    inbox = quantity(billing_db, "Acme Corp", "inbox")

    slack.send.click("UALEX", dm, as_message(first), "Yes")  # quote A's Yes, long after
    replies = slack.wait_posts(dm, 3)
    slack.settle()
    said = "\n".join(c.args.get("text") or "" for c in slack.posts(dm)[2:])
    assert "no longer current" in said and count(billing_db, Order) == 0, said
    current = slack.posts(dm)[-1]
    assert quote_number(second.args["text"]) in current.args["text"], current.args["text"]
    assert any(b["text"]["text"] == "Yes" for b in buttons(current)), replies

    before = len(slack.posts(dm))
    slack.send.click("UALEX", dm, as_message(current), "Yes")
    slack.wait_posts(dm, before + 1)
    slack.settle()  # the order, and after it the end-of-task rating offer when this session has none yet
    after = [c.args.get("text") or "" for c in slack.posts(dm)[before:]]
    assert any(ORDER.search(text) for text in after), after
    assert quantity(billing_db, "Acme Corp", "inbox") == inbox + 7 and count(billing_db, Order) == 1
