"""A callback time in words -> a window: "today 2-5 pm", "tomorrow 9-12", "friday morning",
"at 3pm", "tomorrow 10:30 to 11:30". Plain Python; whether anyone works then is
bot/opening_hours.py's business."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PARTS = {
    "morning": (9, 12),
    "afternoon": (13, 17),
    "evening": (17, 19),
    "lunch": (12, 13),
    "midday": (12, 13),
    "noon": (12, 13),
    "anytime": (9, 17),
    "any time": (9, 17),
    "whenever": (9, 17),
    "all day": (9, 17),
}
CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
RANGE = re.compile(CLOCK + r"\s*(?:-|–|—|to|until|till|and)\s*" + CLOCK, re.IGNORECASE)
SINGLE = re.compile(r"(?:at|around|about|@)?\s*" + CLOCK, re.IGNORECASE)


def _hour(h: int, suffix: str | None) -> int:
    suffix = (suffix or "").replace(".", "").lower()
    if suffix == "pm" and h < 12:
        return h + 12
    if suffix == "am" and h == 12:
        return 0
    return h


def _guess(h: int) -> int:
    """A bare hour in business hours: 1-7 is afternoon, 8-12 morning/noon."""
    return h + 12 if 1 <= h <= 7 else h


def parse_window(text: str, now: datetime) -> Window | None:
    """'today 2-5 pm', 'tomorrow 9-12', 'Tomorrow 1–5 pm', 'friday morning', 'at 3pm',
    'tomorrow 10:30 to 11:30' -> an aware window in ``now``'s zone; None if not understood."""
    s = text.lower().strip()
    tz = now.tzinfo
    day: date | None = None
    if "today" in s or "this " in s or "tonight" in s:
        day = now.date()
    elif "tomorrow" in s or "tmrw" in s or "tmr" in s:
        day = now.date() + timedelta(days=1)
    else:
        for i, name in enumerate(WEEKDAYS):
            if re.search(rf"\b{name[:3]}(?:{name[3:]})?\b", s):
                ahead = (i - now.weekday()) % 7 or 7
                day = now.date() + timedelta(days=ahead)
                break
    hours: tuple[int, int, int, int] | None = None  # h1, m1, h2, m2
    found = RANGE.search(s)
    if found:
        h1, m1, a1, h2, m2, a2 = found.groups()
        h1, h2 = int(h1), int(h2)
        if a1 or a2:
            end = 12 if h2 == 12 else _hour(h2, a2 or a1)  # "9-12 am": until noon
            start = _hour(h1, a1) if a1 else (_hour(h1, a2) if _hour(h1, a2) < end else h1)
        else:
            start, end = _guess(h1), _guess(h2)
        hours = (start, int(m1 or 0), end, int(m2 or 0))
    else:
        part = next((v for k, v in PARTS.items() if re.search(rf"\b{k}\b", s)), None)
        if part:
            hours = (part[0], 0, part[1], 0)
        else:
            single = SINGLE.search(s)
            if single and (single.group(3) or re.search(r"\b(at|around|about)\s+\d", s) or single.group(2)):
                h = _hour(int(single.group(1)), single.group(3)) if single.group(3) else _guess(int(single.group(1)))
                hours = (h, int(single.group(2) or 0), h + 1, int(single.group(2) or 0))
    if hours is None:
        return None
    h1, m1, h2, m2 = hours
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and 0 <= m1 < 60 and 0 <= m2 < 60):
        return None
    if day is None:
        day = now.date()
        if datetime.combine(day, time(min(h2, 23), m2 if h2 < 24 else 59), tz) <= now:
            day += timedelta(days=1)
    begins = datetime.combine(day, time(h1, m1), tz)
    ends = datetime.combine(day, time(23, 59), tz) if h2 == 24 else datetime.combine(day, time(h2, m2), tz)
    if ends <= begins:
        return None
    return Window(begins, ends)
