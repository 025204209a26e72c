"""Billing periods: whole months counted from the term's start, the last one cut at term end."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """Same day-of-month ``months`` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_containing(term_start: date, term_end: date, months: int, today: date) -> tuple[date, date]:
    """The billing period (first day, last day) that contains ``today``.

    Before the term: the first period. After the term: the last one.
    """
    if months < 1:
        raise ValueError("a billing period lasts at least one month")
    start, n = term_start, 0
    while True:
        n += 1
        nxt = add_months(term_start, months * n)
        last = min(nxt - timedelta(days=1), term_end)
        if today <= last or last >= term_end:
            return start, last
        start = nxt
