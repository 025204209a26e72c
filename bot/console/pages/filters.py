"""What a page's query string asks for, read once for the overview, the conversations list and the
CSV downloads: a period (``days`` back from today, or ``start`` and ``end``), a channel, and the
conversation filters. Bad values are a 422 that says which field is wrong; nothing is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal, cast, get_args
from urllib.parse import urlencode

from fastapi import HTTPException
from starlette.datastructures import QueryParams

from ..data.api import Channel, Filters, Outcome, Period

CHANNELS: tuple[str, ...] = get_args(Channel)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Rating = Literal["helpful", "not_helpful"]
RATINGS: tuple[str, ...] = get_args(Rating)
PERIODS = (1, 7, 30, 90, 365)  # the picker's choices, in days
MAX_DAYS = 366
FILTER_FIELDS = ("days", "start", "end", "channel", "org", "customer", "intent", "outcome", "rating")


def _bad(detail: str) -> HTTPException:
    return HTTPException(422, detail)


def today() -> date:
    return datetime.now(timezone.utc).date()


def period_of(query: QueryParams, default_days: int = 30) -> Period:
    start, end = query.get("start") or "", query.get("end") or ""
    if start or end:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            raise _bad("start and end: both dates, YYYY-MM-DD") from None
        if last < first:
            raise _bad("end: on or after start")
        if (last - first).days >= MAX_DAYS:
            raise _bad(f"a period of at most {MAX_DAYS} days")
        return Period(first, last)
    raw = query.get("days") or str(default_days)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise _bad(f"days: a whole number from 1 to {MAX_DAYS}")
    last = today()
    return Period(last - timedelta(days=int(raw) - 1), last)


def _choice(query: QueryParams, name: str, allowed: tuple[str, ...]) -> str | None:
    value = (query.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise _bad(f"{name}: one of {', '.join(allowed)}")
    return value


def channel_of(query: QueryParams) -> Channel | None:
    return cast("Channel | None", _choice(query, "channel", CHANNELS))


def _text(query: QueryParams, name: str, limit: int) -> str | None:
    value = (query.get(name) or "").strip()
    if len(value) > limit:
        raise _bad(f"{name}: at most {limit} characters")
    return value or None


@dataclass(frozen=True)
class Asked:
    """A page's filters and the query string that asks for them again (paging, CSV links)."""

    filters: Filters
    query: dict[str, str]

    def link(self, **changes: object) -> str:
        merged = {**self.query, **{k: str(v) for k, v in changes.items() if v is not None}}
        return urlencode({k: v for k, v in merged.items() if v})


def filters_of(query: QueryParams, default_days: int = 30) -> Asked:
    filters = Filters(
        period=period_of(query, default_days),
        channel=channel_of(query),
        org=_text(query, "org", 200),
        customer=_text(query, "customer", 254),
        intent=_text(query, "intent", 64),
        outcome=cast("Outcome | None", _choice(query, "outcome", OUTCOMES)),
        rating=cast("Rating | None", _choice(query, "rating", RATINGS)),
    )
    kept = {name: (query.get(name) or "").strip() for name in FILTER_FIELDS}
    return Asked(filters, {k: v for k, v in kept.items() if v})


def paging_of(query: QueryParams, limit: int = 50) -> int:
    raw = query.get("offset") or "0"
    if not raw.isdigit() or int(raw) > 10_000_000:
        raise _bad("offset: a whole number")
    return int(raw) // limit * limit
