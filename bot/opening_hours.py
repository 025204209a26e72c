"""When a queue (sales, support) has people: weekly hours in the queue's time zone, and holidays.

    HANDOFF_SALES_HOURS="Mon-Fri 09:00-17:00; Sat 10:00-14:00"
    HANDOFF_SALES_TIMEZONE=America/New_York
    HANDOFF_SALES_HOLIDAYS=2026-12-25,2027-01-01

The gateway (bot/gateway/handoff/queues.py: is someone there now?) and the action server (which
callback slots to offer, when a reply can be expected) read the same settings through this module,
so both say the same thing. Standard library only: it imports in both Python environments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
RANGE = re.compile(
    r"^\s*([A-Za-z]{3})[a-z]*\s*(?:-\s*([A-Za-z]{3})[a-z]*)?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$"
)
# The defaults of the gateway's settings (bot/gateway/config.py), for a laptop.
DEFAULTS = {
    "sales": ("Mon-Fri 09:00-17:00", "America/New_York"),
    "support": ("Mon-Fri 08:00-20:00", "America/New_York"),
}
# Callback slots: the open hours cut at noon and 5 pm, so a slot is a morning, an afternoon or an
# evening, and none is shorter than this.
CUTS = (time(12), time(17))
MIN_SLOT = timedelta(minutes=60)
LOOKAHEAD_DAYS = 21


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
        return f"{span} {clock(self.start)}–{clock(self.end)}"


def clock(t: time | datetime) -> str:
    """9 am, 12:30 pm, midnight."""
    if isinstance(t, datetime):
        t = t.time()
    if t == time(0):
        return "midnight"
    h = t.hour % 12 or 12
    return f"{h}{f':{t.minute:02d}' if t.minute else ''} {'am' if t.hour < 12 else 'pm'}"


def parse_hours(text: str, setting: str = "hours") -> tuple[Hours, ...]:
    """ "Mon-Fri 09:00-17:00; Sat 10:00-14:00" -> Hours ranges. Empty: never open."""
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
class Window:
    """A span of time, aware."""

    start: datetime
    end: datetime

    def label(self, now: datetime, relative: bool = True) -> str:
        """In ``now``'s zone, relative to it: "Today 2–5 pm", "Tomorrow 9 am–12 pm", "Mon Dec 14, 9 am–12 pm"
        (always the last form when not ``relative``)."""
        tz = now.tzinfo
        start, end = self.start.astimezone(tz), self.end.astimezone(tz)
        ahead = (start.date() - now.date()).days if relative else None
        day = "Today" if ahead == 0 else "Tomorrow" if ahead == 1 else f"{start:%a} {start:%b} {start.day},"
        a, b = clock(start), clock(end)
        if a.endswith(b[-2:]) and b not in ("midnight",) and a != "midnight":
            a = a[:-3]  # "2–5 pm", not "2 pm–5 pm"
        if end.date() != start.date() and not (end.time() == time(0) and (end.date() - start.date()).days == 1):
            b = f"{end:%a} {b}"
        return f"{day} {a}–{b}"

    def payload(self) -> str:
        """Plain text a customer could type too, read back by ``parse_iso_window``. "to" between the
        two times, not "/": digits joined only by punctuation ("...-05:00/2026-12-07...") can read as a
        card number, which every channel redacts before anything sees it."""
        return f"{self.start.isoformat(timespec='minutes')} to {self.end.isoformat(timespec='minutes')}"


ISO_WINDOW = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2}|Z))\s*(?:/|\bto\b)\s*"
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2}|Z))"
)


def parse_iso_window(text: str) -> Window | None:
    found = ISO_WINDOW.search(text or "")
    if not found:
        return None
    try:
        start, end = (datetime.fromisoformat(g.replace("Z", "+00:00")) for g in found.groups())
    except ValueError:
        return None
    return Window(start, end) if end > start else None


@dataclass(frozen=True)
class QueueHours:
    name: str
    hours: tuple[Hours, ...]
    timezone: str
    holidays: frozenset[date]

    @classmethod
    def from_env(cls, name: str, environ: Mapping[str, str] | None = None) -> QueueHours:
        env = os.environ if environ is None else environ
        default_hours, default_tz = DEFAULTS.get(name, DEFAULTS["support"])
        prefix = f"HANDOFF_{name.upper()}_"
        tz = env.get(prefix + "TIMEZONE") or default_tz
        try:
            ZoneInfo(tz)
        except Exception:
            raise QueueConfigError(f"{prefix}TIMEZONE: {tz!r} is not an IANA time zone") from None
        return cls(
            name,
            parse_hours(env.get(prefix + "HOURS", default_hours), prefix + "HOURS"),
            tz,
            parse_holidays(env.get(prefix + "HOLIDAYS", ""), prefix + "HOLIDAYS"),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        return local.date() not in self.holidays and any(h.covers(local) for h in self.hours)

    def label(self) -> str:
        return "; ".join(h.label() for h in self.hours) + f" ({self.timezone})" if self.hours else "by appointment"

    def spans(self, day: date) -> list[Window]:
        """The open spans on the queue's local ``day``, in order."""
        if day in self.holidays:
            return []
        found = []
        for h in self.hours:
            if day.weekday() in h.days:
                start = datetime.combine(day, h.start, self.tz)
                end = (
                    datetime.combine(day + timedelta(days=1), time(0), self.tz)
                    if h.end == time(0)
                    else datetime.combine(day, h.end, self.tz)
                )
                if end > start:
                    found.append(Window(start, end))
        return sorted(found, key=lambda w: w.start)

    def _spans_from(self, now: datetime):
        first = now.astimezone(self.tz).date()
        for offset in range(LOOKAHEAD_DAYS):
            for span in self.spans(first + timedelta(days=offset)):
                if span.end > now:
                    yield Window(max(span.start, now), span.end)

    def next_opening(self, now: datetime) -> datetime | None:
        """``now`` while open, else when the queue opens next (None: not within three weeks)."""
        return next((w.start for w in self._spans_from(now)), None)

    def slots(self, now: datetime, count: int = 3) -> list[Window]:
        """The next ``count`` callback slots: open hours from the next half hour on, cut at noon
        and 5 pm (queue time), none shorter than an hour."""
        lead = now + timedelta(minutes=15)
        start_from = lead.replace(second=0, microsecond=0) + timedelta(minutes=(-lead.minute) % 30)
        found: list[Window] = []
        for span in self._spans_from(start_from):
            cuts = [datetime.combine(span.start.astimezone(self.tz).date(), c, self.tz) for c in CUTS]
            edges = [span.start, *[c for c in cuts if span.start < c < span.end], span.end]
            for a, b in zip(edges, edges[1:]):
                if b - a >= MIN_SLOT:
                    found.append(Window(a, b))
                    if len(found) >= count:
                        return found
        return found

    def overlap(self, wanted: Window) -> Window | None:
        """The open part of ``wanted`` (its longest open stretch), or None when it is all closed."""
        best: Window | None = None
        day = wanted.start.astimezone(self.tz).date() - timedelta(days=1)
        while datetime.combine(day, time(0), self.tz) < wanted.end:
            for span in self.spans(day):
                a, b = max(span.start, wanted.start), min(span.end, wanted.end)
                if b > a and (best is None or b - a > best.end - best.start):
                    best = Window(a, b)
            day += timedelta(days=1)
        return best


def when_label(at: datetime, now: datetime) -> str:
    """``at`` in ``now``'s zone, relative to it: "at 9 am", "tomorrow at 9 am", "on Monday at 9 am"."""
    local = at.astimezone(now.tzinfo)
    ahead = (local.date() - now.date()).days
    day = (
        ""
        if ahead == 0
        else "tomorrow "
        if ahead == 1
        else f"on {DAY_NAMES[local.weekday()]} "
        if ahead < 7
        else f"on {local:%a} {local:%b} {local.day} "
    )
    return f"{day}at {clock(local)}"
