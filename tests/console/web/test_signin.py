"""Sign in with Slack against the local OpenID provider: the whole flow, each check the console must
make (a console that skipped one would let the tampered token in and fail here), roles at sign-in,
sessions, and make run's one-time link."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select

from bot.console.auth.staff import sessions
from bot.console.staff_audit import staff_audit
from tests.conftest import free_port
from tests.oidc_mock import Tamper

from .conftest import PEOPLE
from .parts import TEAM, query_of, run_console, settings_for


def audit(console, action: str) -> list:
    with console.console.engine.connect() as conn:
        return conn.execute(select(staff_audit).where(staff_audit.c.action == action)).all()


def open_sessions(console) -> int:
    with console.console.engine.connect() as conn:
        return len(conn.execute(select(sessions)).all())


def test_an_admin_signs_in_through_slack_and_lands_on_the_console(console, oidc):
    browser = console.browser()
    start = browser.start()
    assert start.status_code == 303
    asked = query_of(start.headers["location"])
    assert start.headers["location"].startswith(f"{oidc.issuer}/openid/connect/authorize?")
    assert asked["redirect_uri"] == f"{console.url}/console/auth/callback"
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["team"] == TEAM and asked["scope"] == "openid email profile"
    assert asked["state"] and asked["nonce"] and asked["state"] != asked["nonce"]

    done = browser.get(browser.authorize(start))
    assert done.status_code == 303 and done.headers["location"] == "/console/"
    cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("console_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/console", "samesite=lax"} <= flags
    assert "secure" not in flags  # plain http on loopback; https makes it Secure (test_settings.py)

    staff_page = browser.get("/console/staff")
    assert staff_page.status_code == 200
    assert "Ada Admin" in staff_page.text and 'data-role="admin"' in staff_page.text
    [row] = audit(console, "sign_in")
    assert (row.actor, row.actor_email, row.object) == ("UADMIN01", "ada@vendor.example", "admin")


def test_anyone_else_in_the_workspace_is_a_viewer_at_first(console, oidc):
    oidc.reset(PEOPLE["viewer"])
    browser = console.browser()
    assert browser.sign_in().status_code == 303
    page = browser.get("/console/staff")
    assert page.status_code == 403 and "admin role" in page.text
    assert console.console.staff.member("UVIEWER1").role == "viewer"


@pytest.mark.parametrize(
    "tamper, says",
    [
        (Tamper(nonce="a-nonce-from-another-sign-in"), "issued for another sign-in"),
        (Tamper(team="TOTHER99"), "own Slack workspace"),
        (Tamper(drop_team=True), "own Slack workspace"),
        (Tamper(expires_in=-600), "has expired"),
        (Tamper(foreign_key=True), "did not verify"),
        (Tamper(audience="someone-elses-client"), "did not verify"),
        (Tamper(issuer="https://evil.example"), "did not verify"),
    ],
    ids=["wrong nonce", "other team", "no team", "expired", "bad signature", "other audience", "other issuer"],
)
def test_a_bad_id_token_signs_nobody_in(console, oidc, tamper, says):
    oidc.tamper = tamper
    browser = console.browser()
    answer = browser.sign_in()
    assert answer.status_code == 403 and says in answer.text
    assert oidc.tokens_issued >= 1  # the provider did hand out the (tampered) token
    assert not browser.signed_in
    assert open_sessions(console) == 0 and audit(console, "sign_in") == []


def test_a_member_of_another_workspace_is_refused(console, oidc):
    oidc.reset(PEOPLE["outsider"])
    browser = console.browser()
    assert browser.sign_in().status_code == 403
    assert not browser.signed_in and console.console.staff.member("UOUTSID1") is None


def test_a_code_replayed_signs_nobody_in(console, oidc):
    first = console.browser()
    callback = first.authorize(first.start())
    assert first.get(callback).status_code == 303 and first.signed_in
    again = first.get(callback)  # the same code and state, a second time (the flow cookie is gone)
    assert again.status_code == 400
    thief = console.browser()  # another browser with the code: no flow cookie of its own
    assert thief.get(callback).status_code == 400 and not thief.signed_in
    # the same browser starting afresh and replaying the old code: state differs, refused before any call
    issued = oidc.tokens_issued
    thief.start()
    assert thief.get(callback).status_code == 403 and not thief.signed_in
    assert oidc.tokens_issued == issued


def test_a_callback_without_pkce_verifier_is_refused_by_the_provider(console, oidc):
    """The flow cookie holds the PKCE verifier; a code taken to another browser's flow (same state
    forged in) fails at the provider because the verifier is that other flow's."""
    victim = console.browser()
    victim_callback = victim.authorize(victim.start())
    attacker = console.browser()
    attacker_start = attacker.start()
    # the attacker's own flow cookie, with the victim's code and the attacker's own state
    stolen = query_of(victim_callback)["code"]
    state = query_of(attacker_start.headers["location"])["state"]
    answer = attacker.get(f"/console/auth/callback?code={stolen}&state={state}")
    assert answer.status_code == 403 and not attacker.signed_in
    assert "invalid_code_verifier" in oidc.refusals


def test_a_forged_session_cookie_opens_nothing(console, staff):
    browser = staff("admin")
    forged = jwt.encode(
        {"sid": "x" * 43, "exp": int(time.time()) + 600}, "another-key-entirely-0123456789abcdef", "HS256"
    )
    other = console.browser()
    other.http.cookies.set("console_session", forged, domain="127.0.0.1", path="/console")
    assert other.get("/console/staff").status_code == 303
    assert browser.get("/console/staff").status_code == 200


def test_signing_out_ends_the_session_for_good(console, staff):
    browser = staff("admin")
    old = browser.http.cookies.get("console_session")
    answer = browser.post("/console/signout", {"csrf": browser.csrf("/console/staff")})
    assert answer.status_code == 303
    replay = console.browser()
    replay.http.cookies.set("console_session", old, domain="127.0.0.1", path="/console")
    assert replay.get("/console/staff").status_code == 303  # to the sign-in page
    assert [r.actor for r in audit(console, "sign_out")] == ["UADMIN01"]


def test_the_development_link_signs_in_once_as_an_admin(tmp_path, oidc, tracker):
    settings = settings_for(tmp_path, oidc, free_port())
    running = run_console(settings, dev_token="a-random-token-from-make-run")
    console = next(running)
    try:
        wrong = console.browser().get("/console/signin/dev/not-the-token")
        assert wrong.status_code == 403
        browser = console.browser()
        answer = browser.get("/console/signin/dev/a-random-token-from-make-run")
        assert answer.status_code == 303 and browser.get("/console/staff").status_code == 200
        again = console.browser().get("/console/signin/dev/a-random-token-from-make-run")
        assert again.status_code == 403 and "used already" in again.text
        assert [r.actor for r in audit(console, "sign_in")] == ["dev"]
    finally:
        next(running, None)


def test_no_development_link_in_production(tmp_path, oidc, tracker, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    settings = settings_for(tmp_path, oidc, free_port())
    running = run_console(settings, dev_token="a-random-token-from-make-run")
    console = next(running)
    try:
        assert console.console.dev_link is None
        assert console.browser().get("/console/signin/dev/a-random-token-from-make-run").status_code == 403
    finally:
        next(running, None)
