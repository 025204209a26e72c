"""The backend tests run on a pinned clock (bot/billing/clock.py), so none depends on the day it runs.

Every test here gets ``clock``, a FixedClock at PINNED. A test that uses the database gets it as
the database's clock before ``db`` seeds the demo data, so the seed's relative dates, the services,
the tables' timestamps and the live API (``billing_server``, on the same database) all read it; the
system clock comes back afterwards for the other suites in the session. ``seed_on(day)`` moves the
clock and seeds again, for tests of particular days (month ends, leap days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest

from bot.billing.clock import FixedClock
from tests.conftest import reset

# A Sunday afternoon in December: morning in New York (Acme), afternoon in Dublin (Bluebird), so
# both organisations are on the same date as UTC.
PINNED = datetime(2026, 12, 6, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[FixedClock]:
    pinned = FixedClock(PINNED)
    if "database" not in request.fixturenames:  # a pure unit test: nothing to pin but itself
        yield pinned
        return
    database = request.getfixturevalue("database")
    before, database.clock = database.clock, pinned
    try:
        yield pinned
    finally:
        database.clock = before


@pytest.fixture
def seed_on(db, clock: FixedClock) -> Callable[[datetime], FixedClock]:
    """``seed_on(at)``: the clock stands at ``at`` and the demo data is seeded afresh that day."""

    def seed(at: datetime) -> FixedClock:
        clock.set(at)
        reset(db)
        return clock

    return seed
