"""Invoice periods in free text (pure Python).

Values: "latest" ("last invoice", "latest", "most recent"), "YYYY-MM" ("the March invoice" -> the
most recent March not in the future, "March 2025", "2025-03"), "YYYY" ("invoices from 2025"),
"last_month", "this_month", "last_year", "this_year". `today` is passed in so tests can fix it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from bot.nlu.spans import Span, free

MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_BILL = r"(?:invoices?|bills?|statements?|one|charges?|receipts?|payments?)"

_NOT_A_COUNT = r"(?!(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twelve|few|couple|several)\b)"
# Order matters: earlier patterns win over later, overlapping ones.
_RELATIVE = [
    (re.compile(r"\b(?:last|previous|past|prior)\s+month\b", re.I), "last_month"),
    (re.compile(r"\b(?:this|current)\s+month\b", re.I), "this_month"),
    (re.compile(r"\b(?:last|previous|prior)\s+year\b", re.I), "last_year"),
    (re.compile(r"\b(?:this|current)\s+year\b|\byear[\s\-]to[\s\-]date\b|\bytd\b", re.I), "this_year"),
    (re.compile(r"\b(?:latest|newest|most\s+recent)\b", re.I), "latest"),
    (re.compile(rf"\blast(?=\s+(?:{_NOT_A_COUNT}[a-z']+\s+)?{_BILL}\b)", re.I), "latest"),
]
_MONTH_YEAR = re.compile(rf"\b({_MONTH_RE})\.?(?:\s+|\s*,\s*|\s+of\s+)('?\d{{2}}|\d{{4}})\b", re.I)
_ISO_MONTH = re.compile(r"\b(20\d{2}|19\d{2})[-/](0?[1-9]|1[0-2])\b(?![-/]\d)")
_MONTH = re.compile(rf"\b({_MONTH_RE})\b\.?", re.I)
_YEAR = re.compile(
    r"(?<![\w\-#.,])(19\d{2}|20\d{2})(?!\d|[\w\-.,/]\d|\s*(?:more|additional|extra|new|"
    r"licen[cs]es?|seats?|users?|people)\b)",
    re.I,
)


def month_value(month: int, today: dt.date, year: Optional[int] = None) -> str:
    """'YYYY-MM' for `month`: in `year` if given, else the most recent such month not in the
    future (the current month counts)."""
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return f"{year:04d}-{month:02d}"


def _month_is_meant(text: str, m: re.Match[str]) -> bool:
    """Short or ambiguous month words ("may", "mar", "jan"...) only next to invoice words or
    after "in/from/for/since/of/the"; full names like "March" always."""
    word = m.group(1).lower()
    after = text[m.end() :]
    before = text[: m.start()].lower()
    billy = re.match(rf"\s*(?:'s\s+)?{_BILL}\b", after, re.I) is not None
    prepositioned = (
        re.search(
            r"\b(?:in|from|for|since|of|the|during|until|through|and|or|"
            r"between|last)\s*$",
            before,
        )
        is not None
    )
    if word in ("may", "mar", "jan", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "feb", "apr"):
        if word == "may":
            return billy or (prepositioned and not re.match(r"\s+(?:i|we|you|be)\b", after, re.I))
        return (billy or prepositioned) and m.group(1)[0].isalpha()
    return True


def find_periods(text: str, today: Optional[dt.date] = None, blocked: Optional[list[Span]] = None) -> list[Span]:
    """Spans (start, end, value) of the periods in `text`, left to right."""
    today = today or dt.date.today()
    taken = list(blocked or [])
    found: list[Span] = []

    def add(start: int, end: int, value: str) -> None:
        span = Span(start, end, value, "period")
        if free(span, taken) and free(span, found):
            found.append(span)

    for m in _MONTH_YEAR.finditer(text):
        year_text = m.group(2).lstrip("'")
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        add(m.start(), m.end(), month_value(MONTHS[m.group(1).lower()], today, year))
    for m in _ISO_MONTH.finditer(text):
        add(m.start(), m.end(), f"{int(m.group(1)):04d}-{int(m.group(2)):02d}")
    for pattern, value in _RELATIVE:
        for m in pattern.finditer(text):
            add(m.start(), m.end(), value)
    for m in _MONTH.finditer(text):
        if _month_is_meant(text, m):
            add(m.start(1), m.end(1), month_value(MONTHS[m.group(1).lower()], today))
    for m in _YEAR.finditer(text):
        add(m.start(), m.end(), m.group(1))
    return sorted(found, key=lambda s: s.start)
