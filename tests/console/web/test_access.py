"""Who can reach what: nothing without a session (pages redirect to sign-in, POSTs and downloads
answer 401), no customer or service token of any kind opens anything, a viewer cannot label (403,
nothing written), a POST without the session's CSRF token changes nothing, and roles are the
admin's to change, taking effect on the next request."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from sqlalchemy import select

from bot.console.staff_audit import staff_audit
from bot.gateway.config import GatewaySettings
from bot.gateway.widget.identity import VisitorIds

PAGES = [
    "/console/",
    "/console/conversations",
    "/console/conversations/wv-someone",
    "/console/review",
    "/console/export",
    "/console/privacy",
    "/console/staff",
]
POSTS = [
    "/console/review/label",
    "/console/conversations/wv-someone/test",
    "/console/privacy/export",
    "/console/privacy/erase",
    "/console/staff/role",
    "/console/signout",
]
DOWNLOADS = ["/console/export/conversations.csv", "/console/export/messages.csv"]


def customer_credentials() -> dict[str, dict[str, str]]:
    """What a customer or another service holds, each presented every way a client could."""
    gateway = GatewaySettings()
    visitor = VisitorIds(gateway.widget_signing_key).new()
    customer_jwt = jwt.encode(
        {"sub": "alex@acme.example", "email": "alex@acme.example", "aud": gateway.widget_jwt_audience,
         "iss": gateway.widget_jwt_issuer, "exp": int(time.time()) + 600},
        gateway.widget_jwt_secret, algorithm="HS256",
    )  # fmt: skip
    tokens = {
        "visitor": visitor,
        "customer_jwt": customer_jwt,
        "gateway_token": gateway.gateway_token,
        "privacy_admin": "dev-privacy-admin-token",
        "billing_console": "dev-billing-console-token",
        "billing_actions": "dev-service-token",
    }
    ways: dict[str, dict[str, str]] = {}
    for name, token in tokens.items():
        ways[f"{name} as bearer"] = {"Authorization": f"Bearer {token}"}
        ways[f"{name} as cookie"] = {"Cookie": f"console_session={token}; aa_visitor={token}"}
    return ways


def test_without_a_session_only_the_sign_in_pages_answer(console):
    client = httpx.Client(base_url=console.url, trust_env=False)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/signin?next=/console"), path
    for path in POSTS:
        assert client.post(path, data={"intent": "greet", "message": "1"}).status_code == 401, path
    for path in DOWNLOADS:
        assert client.get(path).status_code == 401, path
    assert client.get("/console/signin").status_code == 200
    assert "Sign in with Slack" in client.get("/console/signin").text


@pytest.mark.parametrize("way", sorted(customer_credentials()))
def test_no_customer_or_service_token_opens_anything(console, way):
    headers = customer_credentials()[way]
    client = httpx.Client(base_url=console.url, trust_env=False, headers=headers)
    for path in PAGES:
        assert client.get(path).status_code == 303, path
    for path in POSTS:
        assert client.post(path, data={"intent": "greet", "message": "1"}).status_code == 401, path
    for path in DOWNLOADS:
        assert client.get(path).status_code == 401, path


def test_a_viewer_cannot_label_and_nothing_is_written(console, staff):
    reviewed = console.settings.console_reviewed_file
    viewer = staff("viewer")
    csrf = viewer.csrf("/console/review")
    assert "labelling needs the reviewer role" in viewer.get("/console/review").text
    answer = viewer.post("/console/review/label", {"csrf": csrf, "intent": "out_of_scope", "message": "1"})
    assert answer.status_code == 403 and "reviewer role" in answer.text
    saved = viewer.post("/console/conversations/wv-x/test", {"csrf": csrf, "name": "a-test"})
    assert saved.status_code == 403
    assert not reviewed.exists()
    for path in ("/console/staff", "/console/privacy"):
        assert viewer.get(path).status_code == 403
    assert (
        viewer.post("/console/privacy/erase", {"csrf": csrf, "kind": "email", "value": "a@b.example"}).status_code
        == 403
    )
    with console.console.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(staff_audit))]
    assert "label" not in actions and "privacy_erase" not in actions


def test_a_post_without_the_sessions_csrf_token_changes_nothing(console, staff):
    admin = staff("admin")
    staff("viewer")
    for csrf in (None, "", "0" * 64):
        data = {"user": "UVIEWER1", "role": "admin", **({"csrf": csrf} if csrf is not None else {})}
        assert admin.post("/console/staff/role", data).status_code == 403
    assert console.console.staff.member("UVIEWER1").role == "viewer"


def test_an_admin_grants_and_removes_roles(console, staff):
    admin = staff("admin")
    viewer = staff("viewer")
    csrf = admin.csrf("/console/staff")
    assert admin.post("/console/staff/role", {"csrf": csrf, "user": "UVIEWER1", "role": "reviewer"}).status_code == 303
    assert "labelling needs" not in viewer.get("/console/review").text  # at once, same session
    bad = admin.post("/console/staff/role", {"csrf": csrf, "user": "UVIEWER1", "role": "owner"})
    assert bad.status_code == 422 and "unknown role" in bad.text
    own = admin.post("/console/staff/role", {"csrf": csrf, "user": "UADMIN01", "role": "viewer"})
    assert own.status_code == 422 and console.console.staff.member("UADMIN01").role == "admin"
    assert admin.post("/console/staff/role", {"csrf": csrf, "user": "UVIEWER1", "role": "none"}).status_code == 303
    assert viewer.get("/console/review").status_code == 303  # their session ended
    page = admin.get("/console/staff")
    assert "UVIEWER1: viewer -&gt; reviewer" in page.text and "UVIEWER1: reviewer -&gt; none" in page.text


def test_the_sign_in_page_sends_nobody_to_another_site(console, staff):
    browser = staff("admin")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = browser.get("/console/signin", params={"next": target})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/"
