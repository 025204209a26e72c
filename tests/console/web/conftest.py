"""Fixtures of the console's web tests (parts.py): a mock OpenID provider, the databases the console
reads (Rasa's events table and the gateway's tables, SQLite files), and the console itself on a real
socket with the real data layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from bot.privacy.gateway_rows import gateway_stores
from tests.conftest import free_port
from tests.oidc_mock import OidcMock, Users
from tests.privacy.rows import rasa_metadata

from .parts import CLIENT_ID, CLIENT_SECRET, TEAM, Running, Staff, Tracker, run_console, settings_for

PEOPLE = Users(team=TEAM).people


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcMock]:
    with OidcMock(CLIENT_ID, CLIENT_SECRET, PEOPLE["admin"]) as mock:
        yield mock


@pytest.fixture
def tracker(tmp_path) -> Iterator[Tracker]:
    """Rasa's events table and the gateway's tables, empty, where the console's settings point."""
    engine = create_engine(f"sqlite:///{tmp_path / 'rasa.sqlite3'}")
    rasa_metadata.create_all(engine)
    gateway = create_engine(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    gateway_stores(gateway)
    yield Tracker(engine)
    engine.dispose()
    gateway.dispose()


@pytest.fixture
def console(tmp_path, oidc, tracker) -> Iterator[Running]:
    oidc.reset(PEOPLE["admin"])
    yield from run_console(settings_for(tmp_path, oidc, free_port()))


@pytest.fixture
def staff(console, oidc) -> Iterator:
    """``staff("reviewer")``: a browser signed in as that person (their role set by an admin first)."""
    opened: list[Staff] = []

    def sign_in(role: str = "admin") -> Staff:
        person = PEOPLE[role]
        if role in ("reviewer", "viewer"):
            console.console.staff.signed_in(person.user_id, person.email, person.name)  # first seen: viewer
            admin = console.console.staff.member("UADMIN01") or console.console.staff.signed_in("UADMIN01", None, None)
            if role == "reviewer":
                console.console.staff.set_role(person.user_id, "reviewer", by=admin)
        oidc.reset(person, redirect_uris=False)
        browser = console.browser()
        opened.append(browser)
        done = browser.sign_in()
        assert done.status_code == 303 and done.headers["location"] == "/console/", done.text
        return browser

    yield sign_in
    for browser in opened:
        browser.close()
