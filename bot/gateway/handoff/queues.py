"""The handoff queues (sales, support): a Slack channel, business hours in a time zone, holidays.

    HANDOFF_SALES_CHANNEL=C0123ABCD
    HANDOFF_SALES_HOURS="Mon-Fri 09:00-17:00; Sat 10:00-14:00"
    HANDOFF_SALES_TIMEZONE=America/New_York
    HANDOFF_SALES_HOLIDAYS=2026-12-25,2027-01-01

``Queue.is_open(now)`` says whether a person is expected to answer now; ``hours_label()`` is what
the customer is told ("Mon–Fri 9 am–5 pm (America/New_York)").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from ..config import GatewaySettings

QUEUE_NAMES = ("sales", "support")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
RANGE = re.compile(r"^\s*([A-Za-z]{3})[a-z]*\s*(?:-\s*([A-Za-z]{3})[a-z]*)?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class QueueConfigError(ValueError):
    """A HANDOFF_* setting can't be read (the message names it)."""


@dataclass(frozen=True)
class Hours:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time  # 24:00 is written 00:00 and means the end of the day

    def covers(self, local: datetime) -> bool:
        if local.weekday() not in self.days:
            return False
        t = local.time()
        return self.start <= t and (self.end == time(0) or t < self.end)

    def label(self) -> str:
        days = sorted(self.days)
        if len(days) > 1 and days == list(range(days[0], days[-1] + 1)):
            span = f"{DAYS[days[0]].title()}–{DAYS[days[-1]].title()}"
        else:
            span = ", ".join(DAYS[d].title() for d in days)
        if self.start == self.end == time(0):
            return f"{span}, all day"
        return f"{span} {_clock(self.start)}–{_clock(self.end)}"


def _clock(t: time) -> str:
    if t == time(0):
        return "midnight"
    h = t.hour % 12 or 12
    return f"{h}{':%02d' % t.minute if t.minute else ''} {'am' if t.hour < 12 else 'pm'}"


def parse_hours(text: str, setting: str = "hours") -> tuple[Hours, ...]:
    """"Mon-Fri 09:00-17:00; Sat 10:00-14:00" -> Hours ranges. Empty: never open."""
    ranges = []
    for part in (p for p in text.split(";") if p.strip()):
        found = RANGE.match(part)
        if not found:
            raise QueueConfigError(f"{setting}: {part.strip()!r} is not like 'Mon-Fri 09:00-17:00'")
        first, last, h1, m1, h2, m2 = found.groups()
        try:
            a, b = DAYS.index(first.lower()), DAYS.index((last or first).lower())
            start, end = time(int(h1), int(m1)), time(int(h2) % 24, int(m2))
        except ValueError as error:
            raise QueueConfigError(f"{setting}: {part.strip()!r}: {error}") from None
        days = frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(0, b + 1)])
        ranges.append(Hours(days, start, end))
    return tuple(ranges)


def parse_holidays(text: str, setting: str = "holidays") -> frozenset[date]:
    try:
        return frozenset(date.fromisoformat(d.strip()) for d in text.split(",") if d.strip())
    except ValueError as error:
        raise QueueConfigError(f"{setting}: {error} (dates as YYYY-MM-DD, comma-separated)") from None


@dataclass(frozen=True)
class Queue:
    name: str  # sales, support
    channel: str  # Slack channel id; "" when the queue is not bridged to Slack
    hours: tuple[Hours, ...]
    timezone: str
    holidays: frozenset[date]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        return local.date() not in self.holidays and any(h.covers(local) for h in self.hours)

    def hours_label(self) -> str:
        return "; ".join(h.label() for h in self.hours) + f" ({self.timezone})" if self.hours else "by appointment"

    @property
    def title(self) -> str:
        return self.name.capitalize()


def queues_from(settings: GatewaySettings) -> dict[str, Queue]:
    queues = {}
    for name in QUEUE_NAMES:
        prefix = f"handoff_{name}_"
        tz = getattr(settings, prefix + "timezone")
        try:
            ZoneInfo(tz)
        except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError
            raise QueueConfigError(f"{prefix.upper()}TIMEZONE: {tz!r} is not an IANA time zone") from None
        queues[name] = Queue(
            name=name, channel=getattr(settings, prefix + "channel").strip(),
            hours=parse_hours(getattr(settings, prefix + "hours"), prefix.upper() + "HOURS"), timezone=tz,
            holidays=parse_holidays(getattr(settings, prefix + "holidays"), prefix.upper() + "HOLIDAYS"))
    return queues
