"""Subscription changes through the actions (bot/actions/licenses.py, products.py, upgrades.py,
subscription.py, quotes.py) against the real billing backend: the form's validation, the quote
reply, "yes" ordering exactly once, an expired quote re-quoted, a user without Manage Billing,
and billing down.

The Rasa server is not involved: each test plays Rasa's part (sets the slots the NLU entities
fill, runs the form's validation, the ask action and the submit action in the order the rules
give) and reads the backend back through the client.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env tests/rasa_env
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import _base
from bot.actions.confirm import ActionConfirm, ActionDecline
from bot.actions.licenses import ActionAskLicenseFormProduct, ActionQuoteLicenses, ValidateLicenseForm
from bot.actions.products import ActionQuoteProduct, ValidateProductForm
from bot.actions.quotes import ActionChangeQuantity
from bot.actions.subscription import ActionCancelSubscription, ActionViewSubscription
from bot.actions.upgrades import ActionRequestUpgrade, ValidateUpgradeForm
from bot.billing_client import BillingClient
from tests.rasa_env.conftest import free_port

SLOTS = ("product", "quantity", "pending_quote", "pending_payment", "pending_request", "change_tries", "requested_slot")


class Chat:
    """One conversation as Rasa would hold it: slots, events, the latest user message."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.slots: dict[str, Any] = dict.fromkeys(SLOTS)
        self.events: list[dict[str, Any]] = []
        self.latest: dict[str, Any] = {}
        self.replies: list[dict[str, Any]] = []

    def user(self, text: str, intent: str, **entities: Any) -> None:
        """A user message; its entities fill the slots with global mappings (product, quantity)."""
        self.latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
        }
        meta = {"identity": {"email": self.email}, "channel": "test"}
        self.events.append({"event": "user", "text": text, "parse_data": self.latest, "metadata": meta})
        self.slots.update(entities)

    async def run(self, action) -> list[dict[str, Any]]:
        """Run an action; apply its slot events; return its messages."""
        dispatcher = CollectingDispatcher()
        tracker = Tracker(
            "conv-changes", dict(self.slots), self.latest, list(self.events), False, None, {}, "action_listen"
        )
        events = await action.run(dispatcher, tracker, {})
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for message in dispatcher.messages:  # as Rasa records them: a typed "yes" is checked against these
            if message.get("text") or message.get("response"):
                self.events.append(
                    {
                        "event": "bot",
                        "text": message.get("text") or message.get("response"),
                        "data": {"buttons": message.get("buttons")},
                    }
                )
        self.replies = dispatcher.messages
        return dispatcher.messages


def text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in messages)


def titles(messages: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for m in messages for b in m.get("buttons") or []]


def payloads(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {b["title"]: b["payload"] for m in messages for b in m.get("buttons") or []}


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages if m.get("response")]


@pytest.fixture
def billing(billing_url, monkeypatch):
    monkeypatch.setenv("BILLING_URL", billing_url)
    monkeypatch.setattr(_base, "_clients", {})  # one client per test's event loop
    return billing_url


async def lines(email: str, url: str) -> dict[str, int]:
    async with BillingClient(url, "dev-service-token") as client:
        contract = (await client.as_user(email, channel="test").contracts())[0]
        return {line.product: line.quantity for line in contract.lines}


def orders_count(db_dir) -> int:
    with sqlite3.connect(db_dir / "b.sqlite3") as db:
        return db.execute("select count(*) from orders").fetchone()[0]


async def close_clients() -> None:
    for client in list(_base._clients.values()):
        await client.aclose()


# -- golden conversation 1 ---------------------------------------------------------------------


def test_add_licenses_means_the_editions_seats_quotes_and_orders_exactly_once(billing, tmp_path):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 5 licenses", "add_licenses", quantity=5)
        assert await alex.run(ValidateLicenseForm()) == []  # nothing to say yet
        # "licenses" with no product: the edition's seats, without asking (issue 18)
        assert (alex.slots["product"], alex.slots["quantity"]) == ("enterprise", 5)
        # the question is still there for contracts whose edition is not sold per user
        asked = await alex.run(ActionAskLicenseFormProduct())
        assert "Which product" in text(asked) and titles(asked) == ["Enterprise", "Inbox", "Dialer"]

        quote = text(await alex.run(ActionQuoteLicenses()))
        number = alex.slots["pending_quote"]
        assert number and number in quote and titles(alex.replies) == ["Yes", "No"]
        assert "Add 5 Enterprise licenses: $165.00 each per month" in quote, quote
        assert "say 'Inbox instead' (or 'Dialer instead')" in quote, quote
        assert re.search(r"Charged now: \$[\d,]+\.\d\d, prorated for \w+ \d+, \d{4} to \w+ \d+, \d{4}", quote), quote
        assert "Enterprise afterwards: 45" in quote and re.search(r"New monthly total: \$[\d,]+\.\d\d", quote)
        assert "valid until" in quote
        assert alex.slots["product"] is None and alex.slots["quantity"] is None  # a fresh start next time

        alex.user("yes", "affirm")
        done = text(await alex.run(ActionConfirm()))
        assert re.search(r"order ORD-\d+ is placed", done) and "45 Enterprise licenses" in done, done
        assert re.search(r"Invoice INV-\d+ for \$[\d,]+\.\d\d is due", done), done
        assert alex.slots["pending_quote"] is None
        assert (await lines("alex@acme.example", billing))["enterprise"] == 45

        # a second "yes": nothing is pending any more
        alex.user("yes", "affirm")
        assert responses(await alex.run(ActionConfirm())) == ["utter_nothing_pending"]
        # a retried "yes" that still carried the quote (its button, pressed again): the same order
        alex.slots["pending_quote"] = number
        alex.user(f'/affirm{{"confirms":"quote:{number}"}}', "affirm", confirms=f"quote:{number}")
        again = text(await alex.run(ActionConfirm()))
        assert "already placed" in again, again
        assert (await lines("alex@acme.example", billing))["enterprise"] == 45
        assert orders_count(tmp_path) == 1
        await close_clients()

    asyncio.run(scenario())


def test_one_per_user_product_is_taken_without_asking_and_the_essentials_limit_offers_an_upgrade(billing):
    async def scenario() -> None:
        olivia = Chat("olivia@bluebird.example")
        olivia.user("add 2 licenses", "add_licenses", quantity=2)
        await olivia.run(ValidateLicenseForm())
        assert (olivia.slots["product"], olivia.slots["quantity"]) == ("essentials", 2)
        quote = text(await olivia.run(ActionQuoteLicenses()))
        assert "Add 2 Essentials licenses: €25.00 each per month" in quote, quote

        olivia.user("add 5 licenses", "add_licenses", quantity=5)  # 6 + 5 > 10
        await olivia.run(ValidateLicenseForm())
        refused = await olivia.run(ActionQuoteLicenses())
        assert "at most 10" in text(refused) and "Upgrade to Enterprise" in titles(refused), text(refused)
        assert (await lines("olivia@bluebird.example", billing))["essentials"] == 6
        await close_clients()

    asyncio.run(scenario())


def test_quantity_is_validated_and_help_comes_after_two_failed_tries(billing):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add enterprise licenses", "add_licenses", product="enterprise")
        await alex.run(ValidateLicenseForm())
        assert alex.slots["product"] == "enterprise" and alex.slots["quantity"] is None
        alex.slots["requested_slot"] = "quantity"

        alex.user("20000", "inform", quantity=20000)
        said = await alex.run(ValidateLicenseForm())
        # over the range: the range, and sales for a large order (issue 18)
        assert responses(said) == ["utter_quantity_too_large"] and alex.slots["quantity"] is None
        assert titles(said) == ["Talk to sales"]
        assert alex.slots["change_tries"] == 1

        alex.user("loads", "inform")
        said = await alex.run(ValidateLicenseForm())
        assert responses(said) == ["utter_help_quantity"] and "Talk to a person" in titles(said)
        assert alex.slots["change_tries"] == 2

        # a question in between is not an answer: no events, so Rasa hands it to the interruption rules
        alex.user("what's my balance?", "check_balance")
        assert await alex.run(ValidateLicenseForm()) == [] and alex.slots["change_tries"] == 2

        alex.user("2.5", "inform", quantity=2.5)
        assert responses(await alex.run(ValidateLicenseForm())) == ["utter_help_quantity"]

        alex.user("twelve", "inform", quantity=12)
        assert await alex.run(ValidateLicenseForm()) == []
        assert alex.slots["quantity"] == 12 and alex.slots["change_tries"] is None
        await close_clients()

    asyncio.run(scenario())


def test_a_product_not_on_the_contract_is_quoted_as_new_or_offered_to_buy(billing):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 3 field service licenses", "add_licenses", product="field_service", quantity=3)
        said = await alex.run(ValidateLicenseForm())
        assert responses(said)[0] == "utter_quoted_as_new_product" and titles(said) == ["Yes", "No"]
        assert alex.slots["requested_slot"] is None and alex.slots["product"] is None
        assert str(alex.slots["pending_quote"]).startswith("Q-")  # the number was said: quoted at once
        assert await alex.run(ActionQuoteLicenses()) == []  # the form stopped: no second quote

        olivia = Chat("olivia@bluebird.example")
        olivia.user("add dialer licenses", "add_licenses", product="dialer")
        said = await olivia.run(ValidateLicenseForm())
        assert responses(said) == ["utter_not_on_contract"] and titles(said) == ["Buy Dialer"]
        assert olivia.slots["requested_slot"] is None and not olivia.slots.get("pending_quote")
        await close_clients()

    asyncio.run(scenario())


# -- changing the quantity, "no", an expired quote -----------------------------------------------


def test_make_it_7_requotes_the_same_product_and_no_cancels(billing):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 3 dialer licenses", "add_licenses", product="dialer", quantity=3)
        await alex.run(ValidateLicenseForm())
        await alex.run(ActionQuoteLicenses())
        first = alex.slots["pending_quote"]

        alex.user("make it 7", "inform", quantity=7)
        requote = text(await alex.run(ActionChangeQuantity()))
        assert "Add 7 Dialer licenses" in requote and "Dialer afterwards: 12" in requote, requote
        assert alex.slots["pending_quote"] not in (None, first)

        # "actually 4 licenses" as a new request: the form takes the waiting quote's product
        alex.user("actually 4 licenses", "add_licenses", quantity=4)
        await alex.run(ValidateLicenseForm())
        assert (alex.slots["product"], alex.slots["quantity"]) == ("dialer", 4)
        assert "Add 4 Dialer licenses" in text(await alex.run(ActionQuoteLicenses()))

        alex.user("no", "deny")
        assert responses(await alex.run(ActionDecline())) == ["utter_quote_cancelled"]
        assert alex.slots["pending_quote"] is None
        assert (await lines("alex@acme.example", billing))["dialer"] == 5
        await close_clients()

    asyncio.run(scenario())


def test_an_expired_quote_is_requoted_not_ordered(billing, tmp_path):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 5 enterprise licenses", "add_licenses", product="enterprise", quantity=5)
        await alex.run(ValidateLicenseForm())
        await alex.run(ActionQuoteLicenses())
        old = alex.slots["pending_quote"]
        with sqlite3.connect(tmp_path / "b.sqlite3") as db:
            db.execute("update quotes set expires_at = '2000-01-01 00:00:00.000000'")

        alex.user("yes", "affirm")
        requoted = text(await alex.run(ActionConfirm()))
        assert "expired" in requoted and "Add 5 Enterprise licenses" in requoted, requoted
        assert titles(alex.replies) == ["Yes", "No"]
        new = alex.slots["pending_quote"]
        assert new and new != old
        assert (await lines("alex@acme.example", billing))["enterprise"] == 40

        alex.user("yes", "affirm")
        assert "45 Enterprise licenses" in text(await alex.run(ActionConfirm()))
        assert (await lines("alex@acme.example", billing))["enterprise"] == 45
        await close_clients()

    asyncio.run(scenario())


# -- permission refused, billing down ------------------------------------------------------------


def test_without_manage_billing_sam_hears_who_can_grant_it_and_nothing_changes(billing):
    async def scenario() -> None:
        sam = Chat("sam@acme.example")
        sam.user("add 5 licenses", "add_licenses", quantity=5)
        said = text(await sam.run(ValidateLicenseForm()))
        assert "Manage Billing" in said and "Alex Rivera" in said, said
        assert sam.slots["requested_slot"] is None and sam.slots["quantity"] is None  # the form ends
        assert await sam.run(ActionQuoteLicenses()) == []

        sam.user("add 5 enterprise licenses", "add_licenses", product="enterprise", quantity=5)
        sam.slots.update(product="enterprise", quantity=5)
        said = text(await sam.run(ActionQuoteLicenses()))  # the backend refuses too
        assert "Manage Billing" in said and "Alex Rivera" in said and sam.slots["pending_quote"] is None

        sam.user("what's on our subscription", "view_subscription")
        summary = text(await sam.run(ActionViewSubscription()))
        assert "Acme Corp" in summary and "Enterprise" in summary and "Manage Billing" in summary
        assert "Alex Rivera" in summary and "$" not in summary, summary
        assert (await lines("alex@acme.example", billing))["enterprise"] == 40
        await close_clients()

    asyncio.run(scenario())


def test_billing_down_is_said_within_5_s_and_nothing_changes(monkeypatch):
    monkeypatch.setenv("BILLING_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens there
    monkeypatch.setattr(_base, "_clients", {})

    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        for step in ("form", "quote", "confirm"):
            if step == "form":
                alex.user("add 5 licenses", "add_licenses", quantity=5)
                action = ValidateLicenseForm()
            elif step == "quote":
                alex.slots.update(product="enterprise", quantity=5)
                action = ActionQuoteLicenses()
            else:
                alex.slots["pending_quote"] = "Q-5001"
                alex.user('/affirm{"confirms":"quote:Q-5001"}', "affirm", confirms="quote:Q-5001")
                action = ActionConfirm()
            started = time.monotonic()
            said = await alex.run(action)
            assert time.monotonic() - started < 5
            assert "can't be reached" in text(said) and "nothing was changed" in text(said), (step, said)
            assert "1-800-667-6389" in text(said) and "Talk to a person" in titles(said)
            again = {
                "form": '/add_licenses{"quantity":5}',
                "quote": '/add_licenses{"product":"enterprise","quantity":5}',
                "confirm": None,
            }[step]  # a "yes" that failed is retried by saying yes, not by a new quote
            assert payloads(said).get("Try again") == again, (step, said)
        assert alex.slots["pending_quote"] is None
        await close_clients()

    asyncio.run(scenario())


def test_try_again_after_billing_was_down_asks_for_the_same_change_and_quotes_it(billing, monkeypatch):
    """Billing unreachable when the customer picked the product: "Try again" carries the product and
    quantity they gave, so once billing is back one tap gives the quote, with nothing to retype."""

    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 5 licenses", "add_licenses", quantity=5)
        await alex.run(ValidateLicenseForm())
        alex.slots["requested_slot"] = "product"
        monkeypatch.setenv("BILLING_URL", f"http://127.0.0.1:{free_port()}")  # billing goes away
        await close_clients()
        monkeypatch.setattr(_base, "_clients", {})
        alex.user('/inform{"product":"enterprise"}', "inform", product="enterprise")
        said = await alex.run(ValidateLicenseForm())
        assert "can't be reached" in text(said) and alex.slots["product"] is None, said
        again = payloads(said)["Try again"]
        assert again == '/add_licenses{"product":"enterprise","quantity":5}'

        monkeypatch.setenv("BILLING_URL", billing)  # billing is back; the customer taps "Try again"
        await close_clients()
        monkeypatch.setattr(_base, "_clients", {})
        intent, _, entities = again[1:].partition("{")
        alex.user(again, intent, **json.loads("{" + entities))
        await alex.run(ValidateLicenseForm())
        assert (alex.slots["product"], alex.slots["quantity"]) == ("enterprise", 5)
        said = await alex.run(ActionQuoteLicenses())
        assert "Shall I place the order?" in text(said) and alex.slots["pending_quote"], said
        await close_clients()

    asyncio.run(scenario())


# -- products, upgrades, the subscription, cancellation -------------------------------------------


def test_buy_a_product_and_already_subscribed(billing):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("we want 3 field service", "buy_product", product="field_service", quantity=3)
        await alex.run(ValidateProductForm())
        quote = text(await alex.run(ActionQuoteProduct()))
        assert "Add 3 × Field Service: $150.00 each per month" in quote and alex.slots["pending_quote"], quote
        alex.user("yes", "affirm")
        assert "Field Service is now on your contract, quantity 3" in text(await alex.run(ActionConfirm()))
        assert (await lines("alex@acme.example", billing))["field_service"] == 3

        # A product already on the contract is more of it: its licenses are quoted (issue 18: not a
        # button to press first, and never a question about what was said).
        alex.user("buy inbox for 5 users", "buy_product", product="inbox", quantity=5)
        said = await alex.run(ValidateProductForm())
        assert responses(said) == ["utter_already_subscribed_adding"], said
        assert alex.slots["product"] == "inbox" and alex.slots["quantity"] == 5
        quote = text(await alex.run(ActionQuoteProduct()))
        assert "Add 5 Inbox licenses" in quote and alex.slots["pending_quote"], quote

        olivia = Chat("olivia@bluebird.example")
        olivia.user("buy analytics for 2 users", "buy_product", product="analytics", quantity=2)
        await olivia.run(ValidateProductForm())
        said = await olivia.run(ActionQuoteProduct())
        assert "isn't available on Essentials" in text(said) and "Upgrade to Enterprise" in titles(said)
        await close_clients()

    asyncio.run(scenario())


def test_essentials_upgrade_hands_off_and_enterprise_upgrade_quotes(billing):
    async def scenario() -> None:
        olivia = Chat("olivia@bluebird.example")
        olivia.user("upgrade to enterprise", "upgrade_edition", product="enterprise")
        await olivia.run(ValidateUpgradeForm())
        said = text(await olivia.run(ActionRequestUpgrade()))
        assert "account executive" in said and "one business day" in said and re.search(r"HO-\d+", said), said
        assert "workflow automation" in said and olivia.slots["pending_quote"] is None
        assert (await lines("olivia@bluebird.example", billing))["essentials"] == 6

        olivia.user("upgrade to dialer", "upgrade_edition", product="dialer")
        said = await olivia.run(ValidateUpgradeForm())
        assert responses(said) == ["utter_not_an_edition"] and olivia.slots["product"] is None

        alex = Chat("alex@acme.example")
        alex.user("go to unlimited", "upgrade_edition", product="unlimited")
        await alex.run(ValidateUpgradeForm())
        quote = text(await alex.run(ActionRequestUpgrade()))
        assert "from Enterprise to Unlimited: $330.00" in quote and alex.slots["pending_quote"], quote
        alex.user("make it 7", "inform", quantity=7)
        assert responses(await alex.run(ActionChangeQuantity())) == ["utter_upgrade_covers_all"]

        alex.user("downgrade to professional", "upgrade_edition", product="professional")
        await alex.run(ValidateUpgradeForm())
        # a lower edition: what the contract allows and sales offered, nothing opened (issue 18)
        said = await alex.run(ActionRequestUpgrade())
        assert "mid-term" in text(said) and "renewal" in text(said) and "Professional" in text(said), text(said)
        assert titles(said) == ["Yes, talk to sales", "No, keep it as it is"]
        assert alex.slots["pending_request"] == "downgrade:professional:"
        await close_clients()

    asyncio.run(scenario())


def test_view_subscription_and_cancellation_handoff(billing):
    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("what's on our contract", "view_subscription")
        summary = text(await alex.run(ActionViewSubscription()))
        assert "Acme Corp, Enterprise edition" in summary, summary
        assert "Enterprise: 40 × $165.00" in summary and "Dialer: 5" in summary and "Monthly total: $" in summary
        assert "renews after" in summary

        # explained and offered first: nothing is opened on the request itself (issue 18)
        alex.user("cancel our subscription", "cancel_subscription")
        offered = await alex.run(ActionCancelSubscription())
        assert "renewal" in text(offered) and not re.search(r"HO-\d+", text(offered)), text(offered)
        assert titles(offered) == ["Yes, contact my account manager", "No, keep it as it is"]
        alex.user("yes", "affirm")
        said = text(await alex.run(ActionConfirm()))
        assert "account manager" in said and "1-800-667-6389" in said and re.search(r"HO-\d+", said), said
        number = re.search(r"HO-\d+", said).group(0)
        async with BillingClient(billing, "dev-service-token") as client:
            handoff = await client.as_user("alex@acme.example", channel="test").handoff(number)
        assert handoff.queue == "sales" and handoff.reason == "Cancellation request"
        assert handoff.conversation_id == "conv-changes"
        assert (await lines("alex@acme.example", billing))["enterprise"] == 40
        await close_clients()

    asyncio.run(scenario())


# -- what a request for less is (issue 18) ----------------------------------------------------------


@pytest.mark.parametrize(
    "said, entities, expected",
    [
        ("remove 3 dialer licenses", {"quantity": 3, "product": "dialer"}, ("reduce", "dialer", 3)),
        ("reduce our seats to 30", {"quantity": 30}, ("reduce", "enterprise", 30)),
        ("we want fewer seats", {}, ("reduce", "enterprise", None)),
        ("downgrade to Professional", {"product": "professional"}, ("downgrade", "professional", None)),
        ("move us down to a cheaper edition", {}, ("downgrade", None, None)),
        ("can we go from Enterprise to Essentials", {"product": "essentials"}, ("downgrade", "essentials", None)),
        ("cancel Inbox", {"product": "inbox"}, ("remove", "inbox", None)),
        ("we want to cancel our subscription", {}, ("cancel", None, None)),
    ],
)
def test_what_is_reduced(said, entities, expected):
    import datetime as dt

    from bot.actions.subscription import what_is_reduced
    from bot.billing_client import Contract, ContractLine, Money

    usd = Money(100, "USD", "$1.00")
    contract = Contract(
        "C-1",
        dt.date(2026, 3, 1),
        dt.date(2027, 2, 28),
        12,
        "active",
        (
            ContractLine("enterprise", "Enterprise", "edition", "user", 40, usd, usd),
            ContractLine("dialer", "Dialer", "addon", "user", 5, usd, usd),
        ),
        usd,
    )
    wanted = what_is_reduced(said, [{"entity": k, "value": v} for k, v in entities.items()], contract)
    assert (wanted.kind, wanted.product, wanted.quantity) == expected
