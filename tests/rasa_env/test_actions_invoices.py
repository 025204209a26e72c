"""Invoices, payments, the card link and billing details: the actions against the real billing
backend (the ``billing_url`` fixture), driven with hand-built trackers; the state is read back
through the client.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_actions_invoices.py
"""

from __future__ import annotations

import email
import json
import re
import time
from email import policy
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import _base
from bot.actions.billing_details import ActionUpdateBillingDetails, ValidateBillingDetailsForm
from bot.actions.confirm import ActionConfirm, ActionDecline, yes_no
from bot.actions.invoices import ActionDownloadInvoice, ActionGetInvoice, ActionListInvoices
from bot.actions.payments import (
    ActionCheckBalance,
    ActionPayInvoice,
    ActionPaymentMethodLink,
    payment_key,
)
from bot.actions.sharing import ActionShareInvoice, ValidateShareInvoiceForm
from bot.billing_client import BillingClient

DOMAIN: dict[str, Any] = {
    "forms": {
        "share_invoice_form": {"required_slots": ["invoice_number", "email"]},
        "billing_details_form": {"required_slots": ["billing_field"]},
    },
    "slots": {},
    "responses": {},
    "intents": [],
    "entities": [],
    "actions": [],
}
ALEX, SAM, OLIVIA = "alex@acme.example", "sam@acme.example", "olivia@bluebird.example"


def usd(minor: int) -> str:
    """$1,069.31 for 106931 (cents), as the replies write dollars."""
    return f"${minor // 100:,}.{minor % 100:02d}"


async def total(client, number: str) -> int:
    """An invoice's total in cents, read from billing: the demo's prorated invoices are issued a
    fixed number of days before the day of seeding, so their amounts change from day to day."""
    return (await client.as_user(ALEX, channel="test").invoice(number)).total.amount


def user(text: str, intent: str, entities: dict[str, str] | None = None, email_: str | None = ALEX) -> dict[str, Any]:
    metadata: dict[str, Any] = {"channel": "test"}
    if email_:
        metadata["identity"] = {"email": email_}
    return {
        "event": "user",
        "text": text,
        "metadata": metadata,
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        },
    }


def said(*messages: dict[str, Any]) -> list[dict[str, Any]]:
    """The bot events Rasa records for these messages (what a typed "yes" is checked against)."""
    return [{"event": "bot", "text": m.get("text"), "data": {"buttons": m.get("buttons")}} for m in messages]


PAY_1041 = said({"text": "Pay INV-1041?", "buttons": yes_no("payment", "INV-1041")})


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def tracker(
    *events: dict[str, Any], slots: dict[str, Any] | None = None, sender: str = "conv-1", active_loop: str | None = None
) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender,
        dict(slots or {}),
        dict(latest["parse_data"]),
        list(events),
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


async def run(action, t: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    return dispatcher.messages, events


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in messages)


def slots_set(events: list[Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def backend(billing_url, monkeypatch):
    monkeypatch.setenv("BILLING_URL", billing_url)
    monkeypatch.setattr(_base, "_clients", {})
    return billing_url


@pytest.fixture
async def client(backend):
    async with BillingClient(backend, "dev-service-token") as billing:
        yield billing


# -- details, list, download --------------------------------------------------------------------------


async def test_latest_invoice_has_number_date_amount_status_and_a_pdf_link(client):
    alex = client.as_user(ALEX, channel="test")
    latest = (await alex.invoices(limit=1))[0]
    assert latest.number == "INV-1042"

    messages, events = await run(
        ActionGetInvoice(), tracker(user("send me last invoice", "get_invoice", {"period": "latest"}))
    )
    reply = texts(messages)
    issued = f"{latest.issue_date:%b} {latest.issue_date.day}, {latest.issue_date.year}"
    for expected in (
        "INV-1042",
        issued,
        latest.total.formatted,
        "open, due",
        "expires in 15 minutes",
        latest.lines[0].description,
    ):
        assert expected in reply, (expected, reply)
    assert slots_set(events)["invoice_number"] == "INV-1042"  # "email it" refers to it

    url = re.search(r"https?://\S+/v1/invoice-files/\S+", reply).group(0)
    pdf = httpx.get(url, timeout=10)
    assert pdf.status_code == 200 and pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.content.startswith(b"%PDF")


async def test_invoice_by_number_and_by_month(client):
    messages, events = await run(
        ActionGetInvoice(), tracker(user("what was on INV-1041?", "get_invoice", {"invoice_number": "INV-1041"}))
    )
    reply = texts(messages)
    assert "INV-1041" in reply and usd(await total(client, "INV-1041")) in reply and "overdue" in reply
    assert "Dialer" in reply
    assert slots_set(events)["invoice_number"] == "INV-1041"

    inv = await client.as_user(ALEX, channel="test").invoice("INV-1040")
    messages, _ = await run(
        ActionGetInvoice(),
        tracker(user("the invoice from that month", "get_invoice", {"period": f"{inv.issue_date:%Y-%m}"})),
    )
    assert "INV-1040" in texts(messages) and "paid" in texts(messages)

    messages, events = await run(
        ActionGetInvoice(), tracker(user("invoice from 1999", "get_invoice", {"period": "1999"}))
    )
    assert "no invoice issued in 1999" in texts(messages) and "invoice_number" not in slots_set(events)

    messages, _ = await run(
        ActionGetInvoice(), tracker(user("what was on INV-1046?", "get_invoice", {"invoice_number": "INV-1046"}))
    )  # Bluebird's
    assert "can't find invoice INV-1046" in texts(messages)


async def test_list_newest_first_and_open_only(client):
    messages, _ = await run(ActionListInvoices(), tracker(user("show my invoices", "list_invoices")))
    reply = texts(messages)
    numbers = re.findall(r"INV-\d+", reply)
    assert numbers[:4] == ["INV-1042", "INV-1041", "INV-1040", "INV-1039"]
    assert "$85,200.00" in reply

    messages, _ = await run(ActionListInvoices(), tracker(user("list unpaid invoices", "list_invoices")))
    reply = texts(messages)
    assert set(re.findall(r"INV-\d+", reply)) == {"INV-1042", "INV-1041"}


async def test_download_uses_the_invoice_in_context(client):
    messages, events = await run(
        ActionDownloadInvoice(), tracker(user("pdf please", "download_invoice"), slots={"invoice_number": "INV-1041"})
    )
    reply = texts(messages)
    assert "INV-1041" in reply and "/v1/invoice-files/" in reply and "15 minutes" in reply
    url = re.search(r"https?://\S+/v1/invoice-files/\S+", reply).group(0)
    assert httpx.get(url, timeout=10).headers["content-type"].startswith("application/pdf")


# -- sharing ------------------------------------------------------------------------------------------


async def test_email_it_to_ap_sends_the_invoice_in_context(client, tmp_path):
    # "email it to ap@acme.example" after "send me last invoice": the form starts with both slots
    t = tracker(
        user("email it to ap@acme.example", "share_invoice", {"email": "ap@acme.example"}),
        slot_event("invoice_number", "INV-1042"),
        slot_event("email", "ap@acme.example"),
        slots={"invoice_number": "INV-1042", "email": "ap@acme.example", "requested_slot": None},
        active_loop="share_invoice_form",
    )
    messages, events = await run(ValidateShareInvoiceForm(), t)
    assert messages == []
    assert slots_set(events) == {"invoice_number": "INV-1042", "email": "ap@acme.example", "email_tries": None}

    messages, events = await run(
        ActionShareInvoice(),
        tracker(
            user("email it to ap@acme.example", "share_invoice", {"email": "ap@acme.example"}),
            slots={"invoice_number": "INV-1042", "email": "ap@acme.example"},
        ),
    )
    assert texts(messages) == "Sent INV-1042 to ap@acme.example."

    sent = list((tmp_path / "outbox").glob("*.eml"))
    assert len(sent) == 1
    mail = email.message_from_bytes(sent[0].read_bytes(), policy=policy.default)
    assert mail["To"] == "ap@acme.example" and "INV-1042" in mail["Subject"]


async def test_share_without_context_takes_the_latest_and_asks_for_the_address(client):
    t = tracker(
        user("share the invoice", "share_invoice"), slots={"requested_slot": None}, active_loop="share_invoice_form"
    )
    messages, events = await run(ValidateShareInvoiceForm(), t)
    assert messages == [] and slots_set(events)["invoice_number"] == "INV-1042"
    assert slots_set(events).get("email") is None  # asked next by the form


async def test_share_an_invoice_asks_which_one(client):
    t = tracker(
        user("share an invoice", "share_invoice"), slots={"requested_slot": None}, active_loop="share_invoice_form"
    )
    messages, events = await run(ValidateShareInvoiceForm(), t)
    assert messages == [] and slots_set(events).get("invoice_number") is None  # asked next, not guessed


async def test_bad_email_twice_gets_help_and_nothing_is_sent(client, tmp_path):
    slots = {"invoice_number": "INV-1042", "requested_slot": "email"}
    messages, events = await run(
        ValidateShareInvoiceForm(),
        tracker(user("bob at acme", "inform"), slots=slots, active_loop="share_invoice_form"),
    )
    assert [m.get("response") for m in messages] == ["utter_invalid_email"]
    assert slots_set(events)["email"] is None and slots_set(events)["email_tries"] == 1

    messages, events = await run(
        ValidateShareInvoiceForm(),
        tracker(user("bob@acme", "inform"), slots={**slots, "email_tries": 1.0}, active_loop="share_invoice_form"),
    )
    assert [m.get("response") for m in messages] == ["utter_invalid_email_help"]
    assert slots_set(events)["email"] is None
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))

    # An interruption ("what's my balance?") is not a failed try: the form rejects, the
    # interruption rule answers it.
    messages, events = await run(
        ValidateShareInvoiceForm(),
        tracker(user("what's my balance?", "check_balance"), slots=slots, active_loop="share_invoice_form"),
    )
    assert messages == [] and [e["event"] for e in events] == ["action_execution_rejected"]


def left(events: list[dict[str, Any]]) -> bool:
    """Did the form end (ActiveLoop(None))?"""
    return any(e.get("event") == "active_loop" and e.get("name") is None for e in events)


async def test_another_request_mid_share_is_answered_and_the_form_lets_go(client, tmp_path):
    slots = {"invoice_number": None, "email": "ap@acme.example", "requested_slot": "invoice_number"}
    # Straight after the message: "pay INV-1042" names an invoice, but is no answer: rejected, so
    # the pay rule answers it (the number is not validated, nothing is emailed).
    said = user("pay INV-1042", "pay_invoice", {"invoice_number": "INV-1042"})
    messages, events = await run(
        ValidateShareInvoiceForm(),
        tracker(
            said,
            slot_event("invoice_number", "INV-1042"),
            slots={**slots, "invoice_number": "INV-1042"},
            active_loop="share_invoice_form",
        ),
    )
    assert messages == [] and [e["event"] for e in events] == ["action_execution_rejected"]
    # Back in the form after the answer: it lets go, forgetting the address it was given.
    messages, events = await run(
        ValidateShareInvoiceForm(),
        tracker(
            said,
            {"event": "action", "name": "action_pay_invoice"},
            {"event": "action", "name": "share_invoice_form"},
            slots=slots,
            active_loop="share_invoice_form",
        ),
    )
    assert messages == [] and left(events)
    assert slots_set(events)["email"] is None and slots_set(events)["requested_slot"] is None
    # After a question that helps choose the invoice, it asks again.
    messages, events = await run(
        ValidateShareInvoiceForm(),
        tracker(
            user("show my invoices", "list_invoices"),
            {"event": "action", "name": "action_list_invoices"},
            slots=slots,
            active_loop="share_invoice_form",
        ),
    )
    assert not left(events)
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))


async def test_share_refused_without_manage_billing_leaves_the_form(client):
    t = tracker(
        user("email the latest invoice to me@acme.example", "share_invoice", {"email": "me@acme.example"}, email_=SAM),
        slot_event("email", "me@acme.example"),
        slots={"email": "me@acme.example", "requested_slot": None},
        active_loop="share_invoice_form",
    )
    messages, events = await run(ValidateShareInvoiceForm(), t)
    assert "Manage Billing" in texts(messages) and "Alex Rivera" in texts(messages)
    assert {"event": "active_loop", "name": None} in events or ActiveLoop(None) in events


async def test_mail_down_says_nothing_was_sent(backend, monkeypatch):
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/invoices/INV-1042/share"
        return httpx.Response(503, json={"error": {"code": "mail_unavailable", "message": "mail down"}})

    monkeypatch.setattr(
        _base,
        "billing",
        lambda: BillingClient("http://billing.test", "t", retries=0, transport=httpx.MockTransport(answer)),
    )
    messages, _ = await run(
        ActionShareInvoice(),
        tracker(
            user("ap@acme.example", "inform", {"email": "ap@acme.example"}),
            slots={"invoice_number": "INV-1042", "email": "ap@acme.example"},
        ),
    )
    reply = texts(messages)
    assert "couldn't send INV-1042" in reply and "nothing was sent" in reply and "Sent" not in reply


# -- paying -------------------------------------------------------------------------------------------


async def test_pay_as_alex_pays_once_even_if_confirmed_twice(client):
    alex = client.as_user(ALEX, channel="test")
    before = await alex.balance()
    amount = await total(client, "INV-1041")

    messages, events = await run(ActionPayInvoice(), tracker(user("pay my open invoice", "pay_invoice")))
    ask = messages[0]
    assert f"Pay INV-1041, {usd(amount)}, with the Visa ending 4242?" in ask["text"]
    assert [b["payload"] for b in ask["buttons"]][:2] == [
        '/affirm{"confirms":"payment:INV-1041"}',
        '/deny{"confirms":"payment:INV-1041"}',
    ]
    assert any("INV-1042" in b["payload"] for b in ask["buttons"])  # the other open one, offered
    assert slots_set(events)["pending_payment"] == "INV-1041"

    confirm = tracker(*said(ask), user("yes", "affirm"), slots={"pending_payment": "INV-1041"}, sender="conv-pay")
    first, events = await run(ActionConfirm(), confirm)
    paid = rf"Paid INV-1041: {re.escape(usd(amount))} .* receipt number is PAY-\d+"
    assert re.search(paid, texts(first)), texts(first)
    assert slots_set(events)["pending_payment"] is None
    again, _ = await run(ActionConfirm(), confirm)  # a retried "yes" (same conversation, same invoice)
    assert "already paid" in texts(again) and "Nothing was charged again" in texts(again)
    assert re.search(r"PAY-\d+", texts(first)).group(0) == re.search(r"PAY-\d+", texts(again)).group(0)

    after = await alex.balance()
    assert before.open_total.amount - after.open_total.amount == amount
    assert after.overdue_total.amount == 0
    assert (await alex.invoice("INV-1041")).status == "paid"
    assert (await alex.invoice("INV-1042")).status == "open"


async def test_pay_a_named_invoice_and_no_cancels(client):
    messages, events = await run(
        ActionPayInvoice(), tracker(user("pay INV-1042", "pay_invoice", {"invoice_number": "INV-1042"}))
    )
    assert f"Pay INV-1042, {usd(await total(client, 'INV-1042'))}, with the Visa ending 4242?" in texts(messages)
    assert slots_set(events)["pending_payment"] == "INV-1042"

    messages, events = await run(
        ActionDecline(), tracker(*said(*messages), user("no", "deny"), slots={"pending_payment": "INV-1042"})
    )
    assert [m.get("response") for m in messages] == ["utter_payment_cancelled"]
    assert slots_set(events) == {"pending_payment": None}
    assert (await client.as_user(ALEX, channel="test").invoice("INV-1042")).status == "open"

    messages, _ = await run(
        ActionPayInvoice(), tracker(user("pay INV-1040", "pay_invoice", {"invoice_number": "INV-1040"}))
    )
    assert "INV-1040 is already paid" in texts(messages)


async def test_sam_is_refused_and_the_invoice_stays_open(client):
    alex = client.as_user(ALEX, channel="test")
    before = await alex.balance()
    messages, events = await run(ActionPayInvoice(), tracker(user("pay my open invoice", "pay_invoice", email_=SAM)))
    reply = texts(messages)
    assert "Manage Billing" in reply and "Alex Rivera (alex@acme.example)" in reply and "haven't changed" in reply
    assert "pending_payment" not in slots_set(events)
    # Even a "yes" with a forged pending payment is refused by the backend.
    messages, _ = await run(
        ActionConfirm(), tracker(*PAY_1041, user("yes", "affirm", email_=SAM), slots={"pending_payment": "INV-1041"})
    )
    assert "Manage Billing" in texts(messages)
    assert (await alex.invoice("INV-1041")).status == "open"
    assert (await alex.balance()).open_total == before.open_total


async def test_nothing_open_says_so(client):
    olivia = client.as_user(OLIVIA, channel="test")
    for invoice in await olivia.invoices(status="open"):
        await olivia.pay_invoice(invoice.number, idempotency_key=f"test-{invoice.number}")
    messages, events = await run(ActionPayInvoice(), tracker(user("pay my open invoice", "pay_invoice", email_=OLIVIA)))
    assert [m.get("response") for m in messages] == ["utter_nothing_to_pay"]
    assert slots_set(events)["pending_payment"] is None


def test_payment_key_is_stable_short_and_per_invoice():
    long_sender = "slack:T0123:C0456:" + "x" * 100
    assert payment_key(long_sender, "INV-1041") == payment_key(long_sender, "INV-1041")
    assert payment_key(long_sender, "INV-1041") != payment_key(long_sender, "INV-1042")
    assert len(payment_key(long_sender, "INV-1041")) <= 64


# -- balance, card ------------------------------------------------------------------------------------


async def test_balance(client):
    messages, _ = await run(ActionCheckBalance(), tracker(user("what do we owe?", "check_balance")))
    reply = texts(messages)
    overdue, next_due = await total(client, "INV-1041"), await total(client, "INV-1042")
    assert f"You owe {usd(overdue + next_due)} across 2 open invoices" in reply
    assert f"Overdue: {usd(overdue)} (INV-1041" in reply and f"Next due: INV-1042, {usd(next_due)}" in reply


async def test_card_number_gets_the_secure_link_and_no_card_digits(client):
    messages, _ = await run(
        ActionPaymentMethodLink(), tracker(user("here is my card CARDNUMBER exp 08/28", "give_card_number"))
    )
    assert messages[0].get("response") == "utter_card_number_not_kept"
    reply = texts(messages[1:])
    assert "/pay/card/" in reply and "Visa ending 4242" in reply and "15 minutes" in reply
    without_link = re.sub(r"https?://\S+", "", reply)
    assert not re.search(r"\d[\d -]{10,}\d", without_link)  # no card number, not even in part
    assert "CARDNUMBER" not in reply

    url = re.search(r"https?://\S+/pay/card/\S+", reply).group(0)
    assert httpx.get(url, timeout=10).status_code == 200


async def test_card_link_for_update_payment_method_has_no_note(client):
    messages, _ = await run(ActionPaymentMethodLink(), tracker(user("change my credit card", "update_payment_method")))
    assert len(messages) == 1 and "/pay/card/" in messages[0]["text"]


async def test_card_number_from_sam_still_gets_the_note_then_the_refusal(client):
    messages, _ = await run(ActionPaymentMethodLink(), tracker(user("CARDNUMBER", "give_card_number", email_=SAM)))
    assert messages[0].get("response") == "utter_card_number_not_kept"
    assert "Manage Billing" in texts(messages) and "/pay/card/" not in texts(messages)


# -- billing details ----------------------------------------------------------------------------------


async def test_change_the_billing_contact_email(client):
    t = tracker(
        user(
            "send invoices to billing@acme.example from now on",
            "update_billing_details",
            {"email": "billing@acme.example"},
        ),
        slot_event("email", "billing@acme.example"),
        slots={"email": "billing@acme.example", "requested_slot": None},
        active_loop="billing_details_form",
    )
    messages, events = await run(ValidateBillingDetailsForm(), t)
    got = slots_set(events)
    assert messages == [] and got["billing_field"] == "contact" and got["email"] == "billing@acme.example"
    assert got["requested_slot"] is None  # nothing left to ask

    messages, events = await run(
        ActionUpdateBillingDetails(),
        tracker(
            user("billing@acme.example", "inform"), slots={"billing_field": "contact", "email": "billing@acme.example"}
        ),
    )
    assert "billing contact email is now billing@acme.example" in texts(messages)
    assert (await client.as_user(ALEX, channel="test").billing_profile()).contact_email == "billing@acme.example"


async def test_change_the_billing_address(client):
    messages, events = await run(
        ValidateBillingDetailsForm(),
        tracker(
            user("we moved, change our billing address", "update_billing_details"),
            slots={"requested_slot": None},
            active_loop="billing_details_form",
        ),
    )
    got = slots_set(events)
    assert got["billing_field"] == "address" and got["requested_slot"] == "address_street"

    slots = {
        "billing_field": "address",
        "requested_slot": "address_country",
        "address_street": "1 Main St, Suite 5",
        "address_city": "Austin, TX",
        "address_postal_code": "78701",
    }
    messages, events = await run(
        ValidateBillingDetailsForm(), tracker(user("Narnia", "inform"), slots=slots, active_loop="billing_details_form")
    )
    assert [m.get("response") for m in messages] == ["utter_invalid_address_country"]
    messages, events = await run(
        ValidateBillingDetailsForm(), tracker(user("usa", "inform"), slots=slots, active_loop="billing_details_form")
    )
    assert slots_set(events)["address_country"] == "US" and slots_set(events)["requested_slot"] is None

    messages, _ = await run(
        ActionUpdateBillingDetails(), tracker(user("usa", "inform"), slots={**slots, "address_country": "US"})
    )
    assert "1 Main St, Suite 5, Austin, TX 78701, US" in texts(messages)
    profile = await client.as_user(ALEX, channel="test").billing_profile()
    assert (
        profile.address_line1,
        profile.address_line2,
        profile.city,
        profile.region,
        profile.postal_code,
        profile.country,
    ) == ("1 Main St", "Suite 5", "Austin", "TX", "78701", "US")
    assert profile.contact_email == "ap@acme.example"  # untouched


async def test_billing_details_refused_for_sam(client):
    messages, events = await run(
        ValidateBillingDetailsForm(),
        tracker(
            user("change our billing address", "update_billing_details", email_=SAM),
            slots={"requested_slot": None},
            active_loop="billing_details_form",
        ),
    )
    assert "Manage Billing" in texts(messages)
    assert {"event": "active_loop", "name": None} in events or ActiveLoop(None) in events


# -- billing down -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, said_before, message, slots",
    [
        (ActionGetInvoice(), [], user("send me last invoice", "get_invoice", {"period": "latest"}), {}),
        (ActionPayInvoice(), [], user("pay my open invoice", "pay_invoice"), {}),
        (ActionConfirm(), PAY_1041, user("yes", "affirm"), {"pending_payment": "INV-1041"}),
        (ActionCheckBalance(), [], user("balance?", "check_balance"), {}),
    ],
)
async def test_backend_down_is_said_within_5_seconds(action, said_before, message, slots, monkeypatch):
    from tests.rasa_env.conftest import free_port

    monkeypatch.setenv("BILLING_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens there
    monkeypatch.setattr(_base, "_clients", {})
    started = time.monotonic()
    messages, events = await run(action, tracker(*said_before, message, slots=slots))
    assert time.monotonic() - started < 5
    reply = texts(messages)
    assert "can't be reached" in reply and "nothing was changed" in reply and "1-800-667-6389" in reply
    assert not slots_set(events).get("pending_payment")
    assert json.dumps(messages)  # replies are plain data


async def test_an_earlier_address_is_not_taken_as_the_new_billing_contact(client):
    # "change the billing contact" after an invoice was emailed to ap@acme.example earlier
    messages, events = await run(
        ValidateBillingDetailsForm(),
        tracker(
            user("change the billing contact", "update_billing_details"),
            slots={"email": "ap@acme.example", "requested_slot": None},
            active_loop="billing_details_form",
        ),
    )
    got = slots_set(events)
    assert got["billing_field"] == "contact" and got["email"] is None and got["requested_slot"] == "email"
