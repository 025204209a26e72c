"""An admin exports and erases one customer's data from the console, through the real gateway's
privacy admin API on loopback (bot/privacy): the JSON download, the confirmation step, the rows
gone from Rasa's tracker and the console's index, and both audits (the privacy audit names the
staff member; the staff audit counts, never names the customer)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.console.staff_audit import staff_audit
from bot.gateway.app import create_app as gateway_app
from bot.gateway.config import GatewaySettings
from bot.privacy.audit import audit as privacy_audit
from tests.conftest import LiveServer, free_port
from tests.privacy.rows import events

from .conftest import PEOPLE
from .parts import Running, run_console, settings_for

TOKEN = "privacy-admin-token-for-the-console-tests-0123456789"


@pytest.fixture
def gateway(tmp_path, tracker) -> Iterator[LiveServer]:
    settings = GatewaySettings(
        gateway_database_url=f"sqlite:///{tmp_path / 'gateway.sqlite3'}",
        rasa_tracker_url=f"sqlite:///{tmp_path / 'rasa.sqlite3'}",
        console_database_url=f"sqlite:///{tmp_path / 'console.sqlite3'}",
        privacy_admin_token=TOKEN,
    )
    with LiveServer(gateway_app(settings, channels=())) as server:
        yield server


@pytest.fixture
def with_privacy(tmp_path, oidc, tracker, gateway) -> Iterator[Running]:
    oidc.reset(PEOPLE["admin"])
    tracker.turn("wu-alex", "send me last invoice", "last_invoice", "INV-1042, due soon", email="alex@acme.example")
    tracker.turn("wv-other", "hello", "greet", "Hi!")
    settings = settings_for(tmp_path, oidc, free_port(), gateway_url=gateway.url, privacy_admin_token=TOKEN)
    for running in run_console(settings):
        running.index()
        yield running


def tracker_rows(tracker, sender: str) -> int:
    with tracker.engine.connect() as conn:
        return conn.execute(select(func.count()).where(events.c.sender_id == sender)).scalar_one()


def test_an_admin_downloads_a_customers_data(with_privacy, tracker):
    admin = with_privacy.browser()
    admin.sign_in()
    csrf = admin.csrf("/console/privacy")
    answer = admin.post("/console/privacy/export", {"csrf": csrf, "kind": "email", "value": "Alex@Acme.example"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert "attachment" in answer.headers["content-disposition"]
    held = json.loads(answer.text)
    assert list(held["conversations"]) == ["wu-alex"]
    assert "send me last invoice" in answer.text and "wv-other" not in answer.text
    [row] = _staff(with_privacy, "privacy_export")
    assert (row.actor, row.object, row.count) == ("UADMIN01", "email", 1)
    assert _privacy_actors(with_privacy) == [("ada@vendor.example", "export")]
    bad = admin.post("/console/privacy/export", {"csrf": csrf, "kind": "email", "value": "not-an-address"})
    assert bad.status_code == 422 and "not an email address" in bad.text


def test_an_erasure_asks_for_confirmation_then_erases_everywhere(with_privacy, tracker):
    admin = with_privacy.browser()
    admin.sign_in()
    csrf = admin.csrf("/console/privacy")
    subject = {"csrf": csrf, "kind": "email", "value": "alex@acme.example"}
    ask = admin.post("/console/privacy/erase", subject)
    assert ask.status_code == 200 and "Erase everything held about alex@acme.example?" in ask.text
    assert tracker_rows(tracker, "wu-alex") == 3
    wrong = admin.post("/console/privacy/erase", {**subject, "confirm": "alex@acme.exampl"})
    assert wrong.status_code == 422 and "does not match" in wrong.text
    assert tracker_rows(tracker, "wu-alex") == 3 and _staff(with_privacy, "privacy_erase") == []

    done = admin.post("/console/privacy/erase", {**subject, "confirm": "alex@acme.example"})
    assert done.status_code == 200 and "Erased 1 conversation" in done.text
    assert tracker_rows(tracker, "wu-alex") == 0 and tracker_rows(tracker, "wv-other") == 3
    deadline = time.monotonic() + 5
    while admin.get("/console/conversations/wu-alex").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert admin.get("/console/conversations/wu-alex").status_code == 404  # out of the console's index too
    assert admin.get("/console/conversations/wv-other").status_code == 200
    [row] = _staff(with_privacy, "privacy_erase")
    assert (row.actor, row.count) == ("UADMIN01", 1) and "alex" not in (row.object or "")
    assert ("ada@vendor.example", "erase") in _privacy_actors(with_privacy)


def test_without_the_admin_token_the_page_says_it_is_off(tmp_path, oidc, tracker):
    oidc.reset(PEOPLE["admin"])
    for running in run_console(settings_for(tmp_path, oidc, free_port())):
        admin = running.browser()
        admin.sign_in()
        page = admin.get("/console/privacy")
        assert "export and erasure are off" in page.text
        answer = admin.post(
            "/console/privacy/erase",
            {"csrf": admin.csrf("/console/privacy"), "kind": "email", "value": "a@b.example", "confirm": "a@b.example"},
        )
        assert answer.status_code == 502 and _staff(running, "privacy_erase") == []


def _staff(running: Running, action: str) -> list:
    with running.console.engine.connect() as conn:
        return conn.execute(select(staff_audit).where(staff_audit.c.action == action)).all()


def _privacy_actors(running: Running) -> list[tuple[str, str]]:
    from sqlalchemy import create_engine

    engine = create_engine(running.settings.gateway_database_url)
    try:
        with engine.connect() as conn:
            return [(r.actor, r.action) for r in conn.execute(select(privacy_audit).order_by(privacy_audit.c.id))]
    finally:
        engine.dispose()
