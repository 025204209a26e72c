"""The action server answers Rasa only (issue 17, item 1). The review posted hand-written trackers
to it: a quote then a confirmation in Alex's name placed a real order for Acme, and the same route
listed another organisation's invoices. Now every call needs Rasa's secret, and under ``make run``
the server listens on loopback only."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from bot.billing.adapters.orm import Order, Quote
from tests.billing.helpers import count

ALEX = "alex@acme.example"


def tracker(action: str, email: str, slots: dict | None = None, entities: list | None = None) -> dict:
    """A hand-written action call, as the review wrote them."""
    user = {
        "event": "user",
        "text": "yes",
        "metadata": {"identity": {"email": email}, "channel": "slack"},
        "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}, "entities": entities or []},
    }
    return {
        "next_action": action,
        "sender_id": "attacker",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "attacker",
            "slots": slots or {},
            "latest_message": user["parse_data"],
            "events": [user],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


ATTACKS = [
    ("action_quote_licenses", ALEX, {"product": "dialer", "quantity": 7}, None),
    ("action_confirm", ALEX, {"pending_quote": "Q-5001"}, [{"entity": "confirms", "value": "quote:Q-5001"}]),
    ("action_list_invoices", "olivia@bluebird.example", {}, None),
    ("action_pay_invoice", ALEX, {}, None),
]
FORGED = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer dev-gateway-token"},
    {"Authorization": "Bearer dev-action-server-token-but-longer"},
    {"Authorization": "Basic x"},
]


@pytest.mark.parametrize("headers", FORGED, ids=["none", "empty", "other-token", "longer", "basic"])
def test_hand_written_trackers_run_nothing(stack, chat, billing_db, headers):
    chat("alex")  # the billing database, fresh
    quotes = count(billing_db, Quote)
    for action, email, slots, entities in ATTACKS:
        answer = httpx.post(
            f"{stack.actions_url}/webhook", json=tracker(action, email, slots, entities), headers=headers, timeout=10
        )
        assert answer.status_code == 401, (action, answer.status_code, answer.text)
        assert "INV-" not in answer.text and "Q-" not in answer.text
    listed = httpx.get(f"{stack.actions_url}/actions", headers=headers, timeout=10)
    assert listed.status_code == 401
    assert count(billing_db, Quote) == quotes and count(billing_db, Order) == 0


def test_rasa_itself_still_gets_through(stack, chat, billing_db):
    """The secret is Rasa's: a conversation through Rasa quotes and orders as before."""
    alex = chat("alex")
    alex.text("add 2 dialer licenses")
    assert "Yes" in alex.buttons()
    alex.press("Yes")
    assert count(billing_db, Order) == 1
    health = httpx.get(f"{stack.actions_url}/health", timeout=10)  # health checks need no secret
    assert health.status_code == 200


def _listening(port: int) -> set[str]:
    """The local addresses something listens on at ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) != port or fields[3] != "0A":  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_under_make_run_the_action_server_listens_on_loopback_only(stack):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this system to read listening sockets from")
    addresses = _listening(stack.actions_port)
    assert addresses and addresses <= {"127.0.0.1", "::1"}, addresses
