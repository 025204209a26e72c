"""The privacy admin API (bot/privacy/api.py) in the real gateway app, on real SQLite and
PostgreSQL: only the admin token gets in (no token 401, a customer's token 403, nothing read,
changed or audited), bad input is a clear 422 that changes nothing, an export by email finds the
customer's widget and Slack conversations with every store's rows and no card number, an erasure
removes them from every store, and both are audited without customer content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from bot.gateway.app import create_app
from bot.gateway.config import GatewaySettings
from bot.gateway.widget.history import messages
from bot.gateway.widget.identity import Jwts, VisitorIds
from bot.privacy.audit import audit
from tests.privacy.rows import Databases, conversation, databases, held, now

TOKEN = "a-real-admin-token-0123456789abcdef-xyz"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
EMAIL = "alex@acme.example"
CARD = "4242 4242 4242 4242"
GONE = {"tracker_events": 0, "widget_messages": 0, "handoffs": 0, "ratings": 0}


@pytest.fixture(params=["sqlite", "postgresql"])
def dbs(request, tmp_path) -> Iterator[Databases]:
    yield from databases(request.param, tmp_path)


def app_settings(dbs: Databases, **extra) -> GatewaySettings:
    return GatewaySettings(
        gateway_database_url=dbs.gateway_url, rasa_tracker_url=dbs.tracker_url, privacy_admin_token=TOKEN, **extra
    )


@pytest.fixture
def client(dbs) -> Iterator[TestClient]:
    settings = app_settings(dbs)
    with TestClient(create_app(settings, channels=("widget",))) as test_client:
        test_client.settings = settings  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def alex(dbs, client) -> dict[str, str]:
    """Alex's widget conversation (with a card number that got into an old row unredacted), a Slack
    DM found through the verified identity in Rasa's events, and someone else's conversation."""
    widget = VisitorIds(client.settings.widget_signing_key).user_sender(EMAIL)
    conversation(dbs, widget, now() - timedelta(hours=2), email=EMAIL, handoff=True)
    with dbs.gateway.begin() as conn:
        conn.execute(
            insert(messages).values(
                sender=widget, author="user", body=json.dumps({"text": f"my card {CARD}"}), at=now()
            )
        )
    conversation(dbs, "slack:T0AC:U0AL", now() - timedelta(days=3), email=EMAIL)
    conversation(dbs, "wv-someone-else", now(), email="sam@acme.example")
    return {"widget": widget, "slack": "slack:T0AC:U0AL"}


def audit_rows(dbs: Databases) -> list[dict]:
    with dbs.gateway.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit).order_by(audit.c.id))]


def everything(dbs: Databases, alex: dict[str, str]) -> list[dict[str, int]]:
    return [held(dbs, s) for s in (*alex.values(), "wv-someone-else")]


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, 401),
        ({"Authorization": "Bearer dev-privacy-admin-token"}, 403),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403),
    ],
)
def test_without_the_admin_token_nothing_is_read_or_changed(client, dbs, alex, headers, status):
    before = everything(dbs, alex)
    for path in ("/admin/privacy/export", "/admin/privacy/erase"):
        answer = client.post(path, headers=headers, json={"actor": "dana", "subject": {"email": EMAIL}})
        assert answer.status_code == status, answer.text
        assert "alex" not in answer.text and "hello" not in answer.text
    assert client.get("/admin/privacy/audit", headers=headers).status_code == status
    assert everything(dbs, alex) == before and audit_rows(dbs) == []


def test_a_customers_own_widget_token_is_refused(client, dbs, alex):
    jwt = Jwts(client.settings).mint(EMAIL)
    answer = client.post(
        "/admin/privacy/erase",
        headers={"Authorization": f"Bearer {jwt}"},
        json={"actor": EMAIL, "subject": {"email": EMAIL}},
    )
    assert answer.status_code == 403
    assert held(dbs, alex["widget"])["tracker_events"] == 2 and audit_rows(dbs) == []


@pytest.mark.parametrize(
    "body, says",
    [
        ({"actor": "dana", "subject": {}}, "exactly one"),
        ({"actor": "dana", "subject": {"email": EMAIL, "conversation": "wv-x"}}, "exactly one"),
        ({"actor": "dana", "subject": {"email": "not-an-address"}}, "not an email"),
        ({"actor": "dana", "subject": {"slack_user": "U0AL"}}, "TEAM:USER"),
        ({"actor": "dana", "subject": {"conversation": "wv x; drop"}}, "conversation id"),
        ({"actor": "dana", "subject": {"phone": "555"}}, "unknown field"),
        ({"subject": {"email": EMAIL}}, "actor"),
        ({"actor": "dana", "subject": {"email": EMAIL}, "all": True}, "unknown field"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_input_is_a_clear_422_and_changes_nothing(client, dbs, alex, body, says):
    before = everything(dbs, alex)
    answer = client.post("/admin/privacy/erase", headers=ADMIN, json=body)
    assert answer.status_code == 422 and says in answer.json()["detail"], answer.text
    assert everything(dbs, alex) == before and audit_rows(dbs) == []


def test_export_then_erase_one_customer_everywhere_audited_without_content(client, dbs, alex):
    exported = client.post(
        "/admin/privacy/export", headers=ADMIN, json={"actor": "dana@vendor.example", "subject": {"email": EMAIL}}
    )
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert set(body["conversations"]) == {alex["widget"], alex["slack"]}  # not sam's
    widget = body["conversations"][alex["widget"]]
    assert set(widget) == {"tracker_events", "widget_messages", "handoffs", "ratings"}
    assert [e["text"] for e in widget["tracker_events"]] == ["hello", "Hi! How can I help?"]
    assert widget["ratings"][0]["state"] == "helpful" and widget["handoffs"][0]["status"] == "closed"
    assert body["counts"] == {"tracker_events": 4, "widget_messages": 3, "handoffs": 1, "ratings": 2}
    assert "4242" not in exported.text and "card number removed" in exported.text
    assert any("legal record" in line for line in body["not_included"])

    erased = client.post(
        "/admin/privacy/erase", headers=ADMIN, json={"actor": "dana@vendor.example", "subject": {"email": EMAIL}}
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] == {"tracker_events": 4, "widget_messages": 3, "handoffs": 1, "ratings": 2}
    assert held(dbs, alex["widget"]) == GONE and held(dbs, alex["slack"]) == GONE
    assert held(dbs, "wv-someone-else")["tracker_events"] == 2  # nobody else's

    again = client.post(
        "/admin/privacy/export", headers=ADMIN, json={"actor": "dana@vendor.example", "subject": {"email": EMAIL}}
    )
    assert again.json()["conversations"] == {}

    rows = audit_rows(dbs)
    assert [(r["action"], r["actor"], r["subject_kind"], r["conversations"]) for r in rows] == [
        ("export", "dana@vendor.example", "email", 2),
        ("erase", "dana@vendor.example", "email", 2),
        ("export", "dana@vendor.example", "email", 0),
    ]
    assert json.loads(rows[1]["counts"])["tracker_events"] == 4
    assert rows[0]["subject_ref"] == rows[1]["subject_ref"]  # the same customer, recognisable by hash
    text = json.dumps(rows, default=str)
    assert "alex" not in text and "acme" not in text and "hello" not in text and alex["widget"] not in text
    listed = client.get("/admin/privacy/audit", headers=ADMIN).json()["audit"]
    assert [r["action"] for r in listed] == ["export", "erase", "export"][::-1]


def test_erase_one_slack_user_or_one_visitor_conversation(client, dbs, alex):
    assert (
        client.post(
            "/admin/privacy/erase", headers=ADMIN, json={"actor": "dana", "subject": {"slack_user": "T0AC:U0AL"}}
        ).status_code
        == 200
    )
    assert held(dbs, alex["slack"]) == GONE and held(dbs, alex["widget"])["tracker_events"] == 2
    assert (
        client.post(
            "/admin/privacy/erase",
            headers=ADMIN,
            json={"actor": "dana", "subject": {"conversation": "wv-someone-else"}},
        ).status_code
        == 200
    )
    assert held(dbs, "wv-someone-else") == GONE and held(dbs, alex["widget"])["tracker_events"] == 2


def test_without_the_setting_the_api_does_not_exist(dbs):
    settings = app_settings(dbs)
    settings.privacy_admin_token = ""
    with TestClient(create_app(settings, channels=("widget",))) as plain:
        assert plain.post("/admin/privacy/export", headers=ADMIN, json={}).status_code == 404


def test_without_rasas_tracker_an_erasure_is_refused(dbs, alex):
    settings = app_settings(dbs)
    settings.rasa_tracker_url = ""
    with TestClient(create_app(settings, channels=("widget",))) as partial:
        answer = partial.post(
            "/admin/privacy/erase", headers=ADMIN, json={"actor": "dana", "subject": {"email": EMAIL}}
        )
    assert answer.status_code == 503 and "nothing erased" in answer.text
    assert held(dbs, alex["widget"])["widget_messages"] == 2 and audit_rows(dbs) == []


def test_production_refuses_a_weak_admin_token_or_one_without_rasas_tracker(monkeypatch):
    from bot.gateway.__main__ import unsafe_settings
    from bot.settings_check import UnsafeSettings

    monkeypatch.setenv("APP_ENV", "production")
    strong = {k: "s" * 40 + k for k in ("gateway_token", "rasa_api_token", "billing_gateway_token")}
    strong |= {"widget_signing_key": "w" * 40, "widget_jwt_secret": "j" * 40}
    for token, url, says in [
        ("dev-privacy-admin-token", "postgresql://rasa@db/rasa", "PRIVACY_ADMIN_TOKEN is a built-in development value"),
        ("short-token", "postgresql://rasa@db/rasa", "PRIVACY_ADMIN_TOKEN is shorter than 32 bytes"),
        (TOKEN, "", "RASA_TRACKER_URL is not"),
    ]:
        with pytest.raises(UnsafeSettings, match=says):
            unsafe_settings(GatewaySettings(privacy_admin_token=token, rasa_tracker_url=url, **strong))
    unsafe_settings(GatewaySettings(privacy_admin_token=TOKEN, rasa_tracker_url="postgresql://rasa@db/rasa", **strong))
    unsafe_settings(GatewaySettings(**strong))  # unset: the API is not served, nothing to refuse
