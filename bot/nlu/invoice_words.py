"""Words about invoices in what customers write: invoice numbers, email addresses, periods ("last
month", "march", "2026-03") and states ("the overdue one", "unpaid"), read into what the billing
API filters by. Plain Python: the invoice and sharing actions call it, and tests call it directly."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

INVOICE_NUMBER = re.compile(r"^INV-\d{1,10}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
)
EMAIL_IN_TEXT = re.compile(r"[^\s<>,;:\"']+@[^\s<>,;:\"']+")
STATUS_WORDS = (  # list_invoices "open", "unpaid"... -> the backend's status filter
    (re.compile(r"\boverdue|\blate\b|past due", re.I), "overdue"),
    (re.compile(r"\b(open|unpaid|outstanding|not paid|due)\b", re.I), "open"),
    (re.compile(r"\b(paid|settled)\b", re.I), "paid"),
)

PERIOD_WORDS = {  # raw words, in case the NLU did not normalise them (bot/nlu/periods.py does)
    "last": "latest",
    "latest": "latest",
    "most recent": "latest",
    "newest": "latest",
    "recent": "latest",
    "current": "latest",
    "ytd": "this_year",
    "this year": "this_year",
    "last year": "last_year",
    "this month": "this_month",
    "last month": "last_month",
}
MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}


def normalise_number(value: Any) -> str | None:
    """'inv 1042', 'INV-1042', '1042' -> 'INV-1042'; anything else -> None."""
    if not isinstance(value, str):
        return None
    digits = re.fullmatch(r"\s*(?:inv(?:oice)?)?[\s#:-]*(\d{1,10})\s*", value, re.I)
    return f"INV-{digits.group(1)}" if digits else None


def period_filter(period: str | None, today: date | None = None) -> dict[str, int] | None:
    """A period entity value -> the backend's year/month filter; {} for 'latest'; None if unknown."""
    if not period:
        return None
    today = today or date.today()
    value = period.strip().lower()
    value = PERIOD_WORDS.get(value, value)
    month = MONTHS.get(value[:3]) if value.isalpha() and len(value) >= 3 else None
    if month:  # a bare month name: the most recent one
        return {"year": today.year if month <= today.month else today.year - 1, "month": month}
    if value == "latest":
        return {}
    if value == "this_month":
        return {"year": today.year, "month": today.month}
    if value == "last_month":
        return (
            {"year": today.year - 1, "month": 12}
            if today.month == 1
            else {"year": today.year, "month": today.month - 1}
        )
    if value == "this_year":
        return {"year": today.year}
    if value == "last_year":
        return {"year": today.year - 1}
    found = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", value)
    if found:
        year, month_text = int(found.group(1)), found.group(2)
        if month_text is None:
            return {"year": year}
        if 1 <= int(month_text) <= 12:
            return {"year": year, "month": int(month_text)}
    return None


def describe_period(period: str | None, today: date | None = None) -> str:
    """For 'no invoice in March 2026'."""
    filters = period_filter(period, today)
    if not filters:
        return "that period"
    if "month" in filters:
        return f"{date(filters['year'], filters['month'], 1):%B %Y}"
    return str(filters["year"])


# One invoice by its state ("the overdue invoice", "the unpaid one"); "open" only as an adjective,
# since "open the last invoice" asks for the latest.
ONE_BY_STATUS = (
    (re.compile(r"\boverdue|\blate\b|past due", re.I), "overdue"),
    (re.compile(r"\b(unpaid|outstanding|not paid)\b|\bopen (invoice|bill|one)\b", re.I), "open"),
)


def one_by_status(text: str | None) -> str | None:
    return next((status for pattern, status in ONE_BY_STATUS if text and pattern.search(text)), None)


def status_filter(text: str | None) -> str | None:
    for pattern, status in STATUS_WORDS:
        if text and pattern.search(text):
            return status
    return None
