"""The billing backend's clock: the one place "now" and "today" come from.

No service, schema or the seed reads the system time itself; each asks a ``Clock``, so a test (or
a developer) can run the whole backend on a chosen day: a month end, a leap day, the day an
invoice falls overdue, the minute a quote expires.

Where the clock comes from: the ``Database`` handle carries one (the system clock unless told
otherwise), and every session it opens carries that clock in ``session.info``, so services, the
seed and the tables' timestamps (bot/billing/adapters/orm.py) all read the same clock through the
session they already take (``clock_of``). The API builds its database with
``clock_from_settings``; routes that format times outside a service take it as a dependency
(``ClockDep`` in api/deps.py). Tests pin it by giving the database a ``FixedClock``.

BILLING_NOW (an ISO 8601 instant with its offset, e.g. ``2026-12-06T15:00:00Z``) pins the clock
of a development or test server. Production refuses to start with it set (bot/billing/__main__.py
lists it with the other unsafe settings), and ``clock_from_settings`` ignores it there as well, so
a leftover variable can never move a customer's due dates.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.settings_check import in_production

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger("billing.clock")


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """Now, aware, in UTC."""

    def today(self, tz: str | tzinfo | None = None) -> date:
        """Today's date in ``tz`` (an IANA name or a tzinfo), or in UTC without one. Dates an
        organisation sees pass its own time zone (``org.timezone``)."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz or timezone.utc
        return self.now().astimezone(zone).date()


class SystemClock(Clock):
    """The real time: the default everywhere, and the only clock production runs on."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock(Clock):
    """A clock that stands still until it is moved: for tests and BILLING_NOW. Standing still is
    the point: two reads in one test give the same answer, and a quote expires only when the test
    moves the clock past it."""

    def __init__(self, at: datetime) -> None:
        self._at = _utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


SYSTEM_CLOCK: Clock = SystemClock()


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock needs an aware datetime (with a UTC offset)")
    return at.astimezone(timezone.utc)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (``Z`` allowed), e.g. ``2026-12-06T15:00:00Z``."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"BILLING_NOW={text!r} is not an ISO 8601 time such as 2026-12-06T15:00:00Z") from None
    if at.tzinfo is None:
        raise ValueError(f"BILLING_NOW={text!r} needs a UTC offset, such as 2026-12-06T15:00:00Z")
    return at.astimezone(timezone.utc)


def clock_from_settings(settings: Settings, environ: Mapping[str, str] = os.environ) -> Clock:
    """The system clock, or in development a fixed one at BILLING_NOW. In production BILLING_NOW
    is ignored with a warning (and the settings check refuses to start with it, before this)."""
    pinned = settings.billing_now.strip()
    if not pinned:
        return SYSTEM_CLOCK
    if in_production(environ):
        log.warning("BILLING_NOW is set but ignored: production always runs on the real clock")
        return SYSTEM_CLOCK
    clock = FixedClock(parse_instant(pinned))
    log.info("BILLING_NOW pins the billing clock at %s (development)", clock.now().isoformat())
    return clock


def clock_of(session: Session) -> Clock:
    """The clock of the unit of work ``session`` belongs to (``Database.session`` puts it there);
    the system clock for a session opened some other way."""
    clock = session.info.get("clock")
    return clock if isinstance(clock, Clock) else SYSTEM_CLOCK
