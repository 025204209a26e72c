"""Billing's console scope (bot/billing/api/routes/console.py, callers.py) on a real socket: the
console's token reads a customer's organisation and the orders placed through the assistant, and
nothing else; no other token (the action server's, which may act as any customer, the gateway's, an
unknown one) reads these routes."""

from __future__ import annotations

import httpx
import pytest

from bot.console.data.billing import BillingUnavailable, ConsoleBilling
from tests.conftest import SERVICE_TOKEN
from tests.console.data.conftest import CONSOLE_TOKEN, billing, console_billing_server  # noqa: F401  (fixtures)
from tests.console.data.test_queries import place_order

GATEWAY_TOKEN = "dev-billing-gateway-token"


def client(url: str, token: str, user: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "X-Channel": "widget"}
    if user:
        headers["X-Acting-User"] = user
    return httpx.Client(base_url=url, headers=headers, timeout=10)


def test_the_console_reads_organisations_and_the_assistants_orders(console_billing_server, billing):
    url = console_billing_server.url
    number = place_order(url)
    with client(url, CONSOLE_TOKEN) as console:
        org = console.get("/v1/console/organisations", params={"email": "Alex@Acme.example"})
        assert org.status_code == 200 and org.json()["name"] == "Acme Corp"
        assert console.get("/v1/console/organisations", params={"email": "nobody@nowhere.example"}).status_code == 404
        placed = console.get("/v1/console/orders", params={"number": [number, "ORD-99999"]}).json()["orders"]
        assert [(o["number"], o["org_name"], o["currency"]) for o in placed] == [(number, "Acme Corp", "USD")]
        assert placed[0]["total"] > 0 and isinstance(placed[0]["total"], int)
        by_time = console.get("/v1/console/orders", params={"since": "2000-01-01T00:00:00Z"}).json()["orders"]
        assert [o["number"] for o in by_time] == [number]
        bad = console.get("/v1/console/orders")
        assert bad.status_code == 422 and "number" in bad.json()["error"]["details"]["fields"]
    assert billing.organisation("alex@acme.example").name == "Acme Corp"
    assert billing.organisation("nobody@nowhere.example") is None
    assert billing.orders([number])[number].total_minor == placed[0]["total"]


@pytest.mark.parametrize("path", ["/v1/me", "/v1/invoices", "/v1/balance", "/v1/handoffs/HO-3001"])
def test_the_console_token_can_do_nothing_else(console_billing_server, billing, path):
    with client(console_billing_server.url, CONSOLE_TOKEN, user="alex@acme.example") as console:
        refused = console.get(path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_denied"
        quote = console.post("/v1/quotes/add-licenses", json={"quantity": 1, "product": "enterprise"})
        assert quote.status_code == 403


def test_other_tokens_cannot_use_the_console_routes(console_billing_server, billing):
    for token, status in ((SERVICE_TOKEN, 403), (GATEWAY_TOKEN, 403), ("not-a-token", 401)):
        with client(console_billing_server.url, token, user="alex@acme.example") as other:
            assert other.get("/v1/console/organisations", params={"email": "alex@acme.example"}).status_code == status
            assert other.get("/v1/console/orders", params={"number": "ORD-10001"}).status_code == status
    with pytest.raises(BillingUnavailable, match="BILLING_CONSOLE_TOKEN"):
        ConsoleBilling(console_billing_server.url, GATEWAY_TOKEN).organisation("alex@acme.example")
