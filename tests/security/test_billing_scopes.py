"""Issue 17, item 1 (billing's part): each calling service has its own token and scope at billing.

The review found that billing took any service token for everything: whoever held the gateway's
token could name any customer in X-Acting-User and place orders, pay invoices or mail them away.
Now only the action server's token may act as a customer; the gateway's token reads what the
gateway itself shows (App Home, its Slack identity check, handoff notices) and nothing else; an
unknown token gets 401. The real billing API on a real socket, as in tests/billing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from bot.billing.adapters.orm import (
    AuditEntry,
    BillingProfile,
    CallbackRequest,
    Handoff,
    Order,
    Payment,
    Quote,
    SupportCase,
    User,
)
from bot.billing.config import get_settings
from bot.gateway.config import GatewaySettings

ALEX = "alex@acme.example"
TABLES = (AuditEntry, CallbackRequest, Handoff, Order, Payment, Quote, SupportCase)


def actions_token() -> str:
    """What the action server presents (its BillingClient.from_env reads the same variable)."""
    return get_settings().billing_actions_token


def gateway_token() -> str:
    """What the gateway presents (its settings)."""
    return GatewaySettings().billing_gateway_token


def client(
    url: str, token: str | None, user: str | None = ALEX, channel: str = "slack", team: str | None = "T0001"
) -> httpx.Client:
    headers = {"X-Channel": channel}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if user:
        headers["X-Acting-User"] = user
    if team:
        headers["X-Slack-Team"] = team
    return httpx.Client(base_url=url, headers=headers, timeout=10)


def state(db) -> dict[str, object]:
    """What an attacker acting as a customer could change."""
    with db.session() as s:
        counts = {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}
        profile = s.scalar(select(BillingProfile.city).limit(1))
        alex = s.scalar(select(User).where(User.email == ALEX))
        return {**counts, "city": profile, "alex": (alex.name, alex.phone)}


def a_quote(url: str) -> dict:
    with client(url, actions_token()) as actions:
        made = actions.post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"})
    assert made.status_code == 201, made.text
    return made.json()


# Everything that acts for a customer: orders, payments, invoices, quotes, and the rest of the API.
ACTING_CALLS = [
    ("POST", "/v1/quotes/add-licenses", {"quantity": 5, "product": "enterprise"}),
    ("POST", "/v1/quotes/add-product", {"product": "file_storage", "quantity": 1}),
    ("POST", "/v1/upgrades", {"edition": "unlimited"}),
    ("GET", "/v1/quotes/{quote}", None),
    ("POST", "/v1/orders", {"quote": "{quote}"}),
    ("POST", "/v1/invoices/INV-1041/payments", None),
    ("GET", "/v1/invoices", None),
    ("GET", "/v1/invoices/INV-1042", None),
    ("POST", "/v1/invoices/INV-1042/download-link", None),
    ("POST", "/v1/invoices/INV-1042/share", {"to": ["mallory@evil.example"]}),
    ("GET", "/v1/contracts", None),
    ("GET", "/v1/billing-profile", None),
    ("PATCH", "/v1/billing-profile", {"city": "Nowhere"}),
    ("PATCH", "/v1/me", {"name": "Mallory", "phone": "+14155550199"}),
    ("GET", "/v1/payment-method", None),
    ("POST", "/v1/payment-method/link", None),
    ("POST", "/v1/cases", {"subject": "Refund", "description": "Refund everything"}),
    ("GET", "/v1/cases", None),
    ("POST", "/v1/handoffs", {"queue": "sales", "reason": "Wants a demo"}),
    (
        "POST",
        "/v1/callbacks",
        {
            "name": "Alex",
            "phone": "+14155550101",
            "window_start": "2099-01-01T09:00:00Z",
            "window_end": "2099-01-01T10:00:00Z",
            "timezone": "America/New_York",
        },
    ),
]


def _send(c: httpx.Client, method: str, path: str, body: dict | None, quote: dict) -> httpx.Response:
    path = path.format(quote=quote["number"])
    if isinstance(body, dict):
        body = {k: (v.format(quote=quote["number"]) if isinstance(v, str) else v) for k, v in body.items()}
    headers = {"Idempotency-Key": quote["idempotency_key"] if "orders" in path else "k-attack-1"}
    return c.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("channel,team", [("slack", "T0001"), ("widget", None), ("api", None)])
def test_the_gateways_token_cannot_act_as_a_customer(billing_server, db, channel, team):
    quote = a_quote(billing_server.url)  # Alex's own quote, made through the action server
    before = state(db)
    refused = []
    with client(billing_server.url, gateway_token(), channel=channel, team=team) as gateway:
        for method, path, body in ACTING_CALLS:
            answer = _send(gateway, method, path, body, quote)
            error = answer.json().get("error", {}) if isinstance(answer.json(), dict) else {}
            refused.append((method, path, answer.status_code, error.get("code")))
    assert all(status == 403 and code == "scope_denied" for *_, status, code in refused), refused
    assert state(db) == before  # nothing was quoted, ordered, paid, shared, opened or edited


def test_the_gateways_token_opens_no_lead_or_case_as_a_visitor(billing_server, db):
    before = state(db)
    with client(billing_server.url, gateway_token(), user=None, channel="widget", team=None) as gateway:
        lead = gateway.post(
            "/v1/handoffs",
            json={"queue": "sales", "reason": "Spam", "lead": {"name": "Spam", "email": "spam@spam.example"}},
        )
        case = gateway.post("/v1/cases", json={"subject": "x", "description": "y"})
    assert (lead.status_code, case.status_code) == (403, 403)
    assert lead.json()["error"]["code"] == "scope_denied"
    assert state(db) == before


def test_the_refusal_says_which_service_and_what_it_lacks(billing_server, db):
    with client(billing_server.url, gateway_token()) as gateway:
        answer = gateway.post("/v1/orders", json={"quote": "Q-5001"}, headers={"Idempotency-Key": "k"})
    error = answer.json()["error"]
    assert answer.status_code == 403 and error["details"]["caller"] == "gateway"
    assert "action server" in error["message"]


def test_the_gateway_reads_only_what_app_home_shows_and_only_for_a_slack_identity(billing_server, db):
    with client(billing_server.url, gateway_token()) as gateway:
        me, balance = gateway.get("/v1/me"), gateway.get("/v1/balance")
    assert (me.status_code, balance.status_code) == (200, 200)
    assert me.json()["org"] == "Acme Corp" and "open_total" in balance.json()
    # Without a Slack identity (whose workspace billing checks) the same reads are refused.
    for channel in ("widget", "api", "web"):
        with client(billing_server.url, gateway_token(), channel=channel, team=None) as gateway:
            assert gateway.get("/v1/me").status_code == 403
            assert gateway.get("/v1/balance").status_code == 403


def test_the_gateway_checks_a_handoff_of_its_conversation(billing_server, db):
    with client(billing_server.url, actions_token(), user=None, channel="widget", team=None) as actions:
        made = actions.post(
            "/v1/handoffs",
            json={
                "queue": "sales",
                "reason": "Visitor asked",
                "conversation_id": "c-1",
                "lead": {"name": "Vi Sitor", "email": "vi@globex.example"},
            },
        )
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    with client(billing_server.url, gateway_token(), user=None, channel="api", team=None) as gateway:
        assert gateway.get(f"/v1/handoffs/{number}", params={"conversation_id": "c-1"}).status_code == 200
        assert gateway.get(f"/v1/handoffs/{number}", params={"conversation_id": "c-2"}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        "Bearer",
        "",
        "Basic {actions}",
        "Bearer {actions}x",
        "Bearer x{actions}",
        "Bearer {actions_upper}",
        "Bearer {actions},{gateway}",
        "{actions}",
    ],
)
def test_an_unknown_token_gets_401_and_changes_nothing(billing_server, db, authorization):
    quote = a_quote(billing_server.url)
    before = state(db)
    value = authorization.format(
        actions=actions_token(), actions_upper=actions_token().upper(), gateway=gateway_token()
    )
    headers = {"X-Acting-User": ALEX, "X-Channel": "slack", "X-Slack-Team": "T0001"}
    if value:
        headers["Authorization"] = value
    with httpx.Client(base_url=billing_server.url, headers=headers, timeout=10) as stranger:
        answers = [
            stranger.get("/v1/me"),
            stranger.get("/v1/invoices"),
            stranger.post(
                "/v1/orders", json={"quote": quote["number"]}, headers={"Idempotency-Key": quote["idempotency_key"]}
            ),
        ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert {a.json()["error"]["code"] for a in answers} == {"bad_service_token"}
    assert state(db) == before


def test_the_action_servers_token_acts_as_the_customer_and_the_audit_log_names_it(billing_server, db):
    quote = a_quote(billing_server.url)
    with client(billing_server.url, actions_token()) as actions:
        order = actions.post(
            "/v1/orders", json={"quote": quote["number"]}, headers={"Idempotency-Key": quote["idempotency_key"]}
        )
        invoices = actions.get("/v1/invoices")
    assert order.status_code == 201 and invoices.status_code == 200 and invoices.json()
    with db.session() as s:
        log = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor, e.caller) for e in log[-2:]] == [
        ("quote.create", ALEX, "actions"),
        ("order.add_licenses", ALEX, "actions"),
    ]
