"""``GET /console/``: the overview over a chosen period and channel: conversations, containment,
handoffs and outcomes, fallbacks, ratings, orders and revenue through the assistant, as headline
figures and per-day charts, with each figure's definition printed under it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..auth.guard import ViewerPage, console_of
from ..data.api import Money, Overview
from .charts import Series, bars, legend
from .filters import CHANNELS, PERIODS, channel_of, period_of

router = APIRouter(prefix="/console")
_EXPONENT = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}  # minor units per currency; 2 for the rest


def money(amount: Money) -> str:
    """Integer minor units as text, without going through a float: 123456 EUR -> "1,234.56 EUR"."""
    exponent = _EXPONENT.get(amount.currency.upper(), 2)
    sign, minor = ("-" if amount.minor < 0 else ""), abs(amount.minor)
    whole, fraction = divmod(minor, 10**exponent)
    return f"{sign}{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "") + f" {amount.currency}"


def rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _pct(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def charts(o: Overview) -> list[dict[str, object]]:
    days = [d.day for d in o.days]
    plans = [
        (
            "Conversations per day",
            [
                Series("In scope", [d.in_scope for d in o.days], "s1"),
                Series("Out of scope", [max(0, d.conversations - d.in_scope) for d in o.days], "s3"),
            ],
            f"{o.conversations} conversations, {o.in_scope} in scope",
        ),
        (
            "Containment per day (in-scope conversations completed without a person)",
            [Series("Contained", [_pct(d.contained, d.in_scope) for d in o.days], "s2", percent=True)],
            f"containment {rate(o.contained, o.in_scope)} over the period",
        ),
        (
            "Outcomes per day",
            [
                Series("Completed without a person", [d.contained for d in o.days], "s2"),
                Series("Handed to a person", [d.handoffs for d in o.days], "s4"),
                Series("Neither", [max(0, d.conversations - d.contained - d.handoffs) for d in o.days], "s3"),
            ],
            f"{o.contained} completed, {o.handoffs} handoffs",
        ),
        (
            "Fallback turns per day",
            [Series("Fallbacks", [d.fallbacks for d in o.days], "s4")],
            f"{o.fallback_turns} fallback turns of {o.turns}",
        ),
        (
            "Ratings per day",
            [
                Series("Helpful", [d.helpful for d in o.days], "s2"),
                Series("Not helpful", [d.not_helpful for d in o.days], "s4"),
            ],
            f"{o.helpful} helpful, {o.not_helpful} not helpful",
        ),
        (
            "Orders placed through the assistant per day",
            [Series("Orders", [d.orders for d in o.days], "s1")],
            f"{o.orders} orders",
        ),
    ]
    return [
        {
            "title": title,
            "svg": bars(title, days, series, summary),
            "legend": legend(series) if len(series) > 1 else "",
            "series": series,
            "days": days,
        }
        for title, series, summary in plans
    ]


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, who: ViewerPage) -> HTMLResponse:
    console = console_of(request)
    period = period_of(request.query_params)
    channel = channel_of(request.query_params)
    figures = await asyncio.to_thread(console.queries.overview, period, channel)
    return console.render(
        request,
        "overview.html",
        who,
        o=figures,
        charts=charts(figures),
        money=money,
        rate=rate,
        periods=PERIODS,
        channels=CHANNELS,
        days=request.query_params.get("days") or ("" if request.query_params.get("start") else "30"),
        channel=channel or "",
        start=request.query_params.get("start") or "",
        end=request.query_params.get("end") or "",
    )
