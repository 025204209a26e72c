"""Export and erasure of one customer (bot/privacy/api.py, docs/privacy.md) through the session's
real stack: a signed-in widget customer talks to the assistant over the widget's WebSocket (Rasa,
the action server, billing), an operator exports and erases them with the admin token on the
gateway, and the customer reloads the widget and carries on.

What is checked is what each of them notices: the export holds the conversation as Rasa and the
widget keep it and no card number; after the erasure the reloaded widget is empty and an export
finds nothing; the next message starts a fresh conversation that answers as before and that does
not bring the erased turns back; a customer's own token is refused and changes nothing; the audit
has a row per action and none of the customer's content."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from bot.launch.runner import DEFAULT_PRIVACY_ADMIN_TOKEN
from tests.conftest import reset
from tests.e2e.widget_client import WidgetClient, signed_in

# Priya (Acme, Manage Billing): few other e2e tests talk as her, and everything held about her is
# erased here, so no other test's conversation is in the way.
EMAIL = "priya@acme.example"
CARD = "4242 4242 4242 4242"
DIGITS = re.compile(r"4242\D?4242\D?4242\D?4242")
ACTOR = "dana@vendor.example"
BALANCE = "what's my balance?"


@pytest.fixture
def admin(stack, billing_db) -> Iterator[httpx.Client]:
    """An operator's client of the gateway's admin API (on the gateway itself, as from inside the
    network: the public balancer refuses /admin)."""
    reset(billing_db)
    token = stack.env()["PRIVACY_ADMIN_TOKEN"]
    assert token == DEFAULT_PRIVACY_ADMIN_TOKEN  # make run's, which the session stack runs as
    with httpx.Client(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False
    ) as client:
        yield client


def body(subject: dict[str, str]) -> dict:
    return {"actor": ACTOR, "subject": subject}


def user_texts(held: dict, sender: str) -> list[str]:
    """The customer's messages in Rasa's copy of one conversation."""
    events = held["conversations"].get(sender, {}).get("tracker_events", [])
    return [e.get("text") or "" for e in events if e.get("event") == "user"]


async def reload(gateway_url: str, token: str) -> dict:
    """The welcome a freshly loaded page gets (its history is what the widget shows)."""
    async with WidgetClient(gateway_url, token) as widget:
        return widget.welcome


def widget_sender(held: dict) -> str:
    (sender,) = [s for s in held["conversations"] if s.startswith("wu-")]
    return sender


async def test_an_operator_exports_and_erases_a_widget_customer_who_then_starts_afresh(stack, admin):
    jwt = signed_in(EMAIL)
    # a clean slate for this customer (an earlier test of the session may have talked as her)
    assert admin.post("/admin/privacy/erase", json=body({"email": EMAIL})).status_code == 200
    assert (await reload(stack.gateway_url, jwt))["history"] == []

    async with WidgetClient(stack.gateway_url, jwt) as widget:
        balance = "\n".join(await widget.say(BALANCE))
        assert "$" in balance or "INV-" in balance, balance
        pasted = "\n".join(await widget.say(f"my card number is {CARD}"))
        assert not DIGITS.search(pasted), pasted
    shown = (await reload(stack.gateway_url, jwt))["history"]
    assert any(BALANCE in json.dumps(m) for m in shown), shown  # the widget restores it on reload

    # -- a customer's own token: refused, nothing read or changed ------------------------------------
    audit_before = admin.get("/admin/privacy/audit").json()["audit"]
    customer = {"Authorization": f"Bearer {jwt}"}
    with httpx.Client(base_url=stack.gateway_url, headers=customer, timeout=30, trust_env=False) as own:
        assert own.post("/admin/privacy/export", json=body({"email": EMAIL})).status_code == 403
        assert own.post("/admin/privacy/erase", json=body({"email": EMAIL})).status_code == 403
        assert own.get("/admin/privacy/audit").status_code == 403
    assert admin.get("/admin/privacy/audit").json()["audit"] == audit_before
    assert (await reload(stack.gateway_url, jwt))["history"] == shown

    # -- the export: the conversation as Rasa and the widget hold it, no card number -------------------
    exported = admin.post("/admin/privacy/export", json=body({"email": EMAIL}))
    assert exported.status_code == 200, exported.text
    held = exported.json()
    sender = widget_sender(held)
    assert BALANCE in user_texts(held, sender)
    assert any(BALANCE in json.dumps(r) for r in held["conversations"][sender]["widget_messages"])
    assert held["counts"]["tracker_events"] > 0 and held["counts"]["widget_messages"] > 0
    assert not DIGITS.search(exported.text), "a card number in the export"
    assert "card number" in " ".join(user_texts(held, sender))  # the message is there, its number is not
    assert held["not_included"]

    # -- the erasure: gone from every store; the reloaded widget is empty --------------------------------
    erased = admin.post("/admin/privacy/erase", json=body({"email": EMAIL}))
    assert erased.status_code == 200, erased.text
    counts = erased.json()["erased"]
    assert counts["tracker_events"] == held["counts"]["tracker_events"]
    assert counts["widget_messages"] == held["counts"]["widget_messages"]
    assert (await reload(stack.gateway_url, jwt))["history"] == []
    after = admin.post("/admin/privacy/export", json=body({"email": EMAIL})).json()
    assert after["conversations"] == {} and not any(after["counts"].values()), after

    # -- the customer's next message: a fresh conversation that works, without the erased turns ----------
    async with WidgetClient(stack.gateway_url, jwt) as widget:
        again = "\n".join(await widget.say(BALANCE))
        assert again == balance, (again, balance)  # the same answer as before: a conversation that works
    shown = (await reload(stack.gateway_url, jwt))["history"]
    assert [m.get("text") for m in shown if m.get("from") == "user"] == [BALANCE], shown
    fresh = admin.post("/admin/privacy/export", json=body({"email": EMAIL})).json()
    assert widget_sender(fresh) == sender  # the same customer, the same conversation id ...
    assert user_texts(fresh, sender) == [BALANCE]  # ... holding the new turn only: nothing written back
    assert not DIGITS.search(json.dumps(fresh)) and "card number" not in json.dumps(fresh)

    # -- the audit: a row per action, who and what, none of the customer's content ----------------------
    rows = admin.get("/admin/privacy/audit", params={"limit": 10}).json()["audit"]
    mine = [r for r in rows if r["actor"] == ACTOR][:5]  # newest first: export, export, erase, export, erase
    assert [r["action"] for r in mine] == ["export", "export", "erase", "export", "erase"], mine
    erase_row = mine[2]
    assert erase_row["subject_kind"] == "email" and erase_row["conversations"] >= 1
    assert erase_row["counts"]["tracker_events"] == counts["tracker_events"]
    text = json.dumps(rows)
    for content in (EMAIL, "priya", sender, BALANCE, "balance", "4242"):
        assert content not in text, f"{content!r} in the audit"
