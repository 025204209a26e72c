"""The billing clock (bot/billing/clock.py): where it comes from, what pins it, what production refuses."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.billing.__main__ import unsafe_settings
from bot.billing.adapters.orm import AuditEntry, SupportCase
from bot.billing.clock import SYSTEM_CLOCK, FixedClock, clock_from_settings, clock_of, parse_instant
from bot.billing.config import Settings
from bot.billing.services import support
from bot.settings_check import UnsafeSettings
from tests.billing.conftest import PINNED
from tests.conftest import ALEX

DEVELOPMENT = {"APP_ENV": "development"}
PRODUCTION = {"APP_ENV": "production"}
STRONG = "f3a9c1d27b5e4f60a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3"


def test_today_is_the_date_where_you_ask():
    clock = FixedClock(datetime(2028, 3, 1, 2, 30, tzinfo=timezone.utc))
    assert clock.today() == date(2028, 3, 1)  # UTC without a zone
    assert clock.today("America/New_York") == date(2028, 2, 29)  # still the leap day there
    assert clock.today("Europe/Dublin") == date(2028, 3, 1)
    clock.advance(timedelta(days=1))
    assert clock.now() == datetime(2028, 3, 2, 2, 30, tzinfo=timezone.utc)


def test_a_clock_needs_an_aware_time():
    with pytest.raises(ValueError):
        FixedClock(datetime(2027, 1, 31, 15, 0))
    assert SYSTEM_CLOCK.now().tzinfo is not None


def test_billing_now_pins_a_development_server_only():
    pinned = Settings(billing_now="2026-12-06T15:00:00Z")
    assert clock_from_settings(pinned, DEVELOPMENT).now() == datetime(2026, 12, 6, 15, 0, tzinfo=timezone.utc)
    assert clock_from_settings(Settings(billing_now="2027-01-31T10:00:00-05:00"), DEVELOPMENT).now() == datetime(
        2027, 1, 31, 15, 0, tzinfo=timezone.utc
    )
    assert clock_from_settings(Settings(), DEVELOPMENT) is SYSTEM_CLOCK
    # production ignores it (and refuses to start with it: below)
    assert clock_from_settings(pinned, PRODUCTION) is SYSTEM_CLOCK
    assert clock_from_settings(pinned, {}) is SYSTEM_CLOCK  # no APP_ENV is production


@pytest.mark.parametrize("bad", ["tomorrow", "2026-12-06", "2026-12-06T15:00:00"])
def test_billing_now_needs_a_full_time_with_its_offset(bad):
    with pytest.raises(ValueError, match="BILLING_NOW"):
        parse_instant(bad)


def test_production_refuses_to_start_with_a_pinned_clock(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    real = {
        "billing_signing_key": STRONG,
        "billing_actions_token": STRONG[::-1],
        "billing_gateway_token": STRONG[1:] + "a",
    }
    unsafe_settings(Settings(**real))  # real secrets, the real clock: starts
    with pytest.raises(UnsafeSettings, match="BILLING_NOW"):
        unsafe_settings(Settings(**real, billing_now="2026-12-06T15:00:00Z"))
    monkeypatch.setenv("APP_ENV", "development")
    unsafe_settings(Settings(**real, billing_now="2026-12-06T15:00:00Z"))


def test_sessions_carry_the_databases_clock_and_rows_are_stamped_with_it(db, clock):
    with db.session() as s:
        assert clock_of(s) is clock
    with db.session(write=True) as s:
        case = support.open_case(s, ALEX, "Dialer", "The dialer drops calls")
        number = case.number
    clock.advance(timedelta(hours=3))
    with db.session(write=True) as s:
        support.add_note(s, ALEX, number, "Still dropping")
    with db.session() as s:
        case = s.get(SupportCase, SupportCase.id_for(number))
        assert case.created_at == PINNED and case.updated_at == PINNED + timedelta(hours=3)
        audit = list(s.scalars(select(AuditEntry.at).where(AuditEntry.action.like("case.%")).order_by(AuditEntry.id)))
        assert audit == [PINNED, PINNED + timedelta(hours=3)]


def test_the_api_reads_its_databases_clock(database):
    from bot.billing.api.app import create_app

    before = database.clock
    try:
        pinned = FixedClock(datetime(2027, 1, 31, 15, 0, tzinfo=timezone.utc))
        app = create_app(database, docs=False, clock=pinned)
        assert app.state.db.clock is pinned and database.clock is pinned
    finally:
        database.clock = before
