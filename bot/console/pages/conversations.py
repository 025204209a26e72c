"""``GET /console/conversations``: search by organisation, customer, intent, outcome, rating, channel
and period, 50 a page; ``GET /console/conversations/<sender>``: one transcript (texts redacted of
card numbers, as stored); ``POST .../test``: save it as a conversation test (reviewers)."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..auth.guard import ReviewerAction, ViewerPage, console_of
from ..data.api import BadLabel
from .filters import CHANNELS, OUTCOMES, PERIODS, RATINGS, filters_of, paging_of
from .overview import money

router = APIRouter(prefix="/console")
PAGE_SIZE = 50
_TEST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


@router.get("/conversations", response_class=HTMLResponse)
async def conversations(request: Request, who: ViewerPage) -> HTMLResponse:
    console = console_of(request)
    asked = filters_of(request.query_params)
    offset = paging_of(request.query_params, PAGE_SIZE)
    found = await asyncio.to_thread(console.queries.search, asked.filters, offset, PAGE_SIZE)
    return console.render(
        request,
        "conversations.html",
        who,
        found=found,
        asked=asked,
        q=asked.query,
        money=money,
        periods=PERIODS,
        channels=CHANNELS,
        outcomes=OUTCOMES,
        ratings=RATINGS,
        previous=asked.link(offset=max(0, offset - PAGE_SIZE)) if offset else None,
        next=asked.link(offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < found.total else None,
    )


@router.get("/conversations/{sender}", response_class=HTMLResponse)
async def transcript(request: Request, sender: str, who: ViewerPage) -> HTMLResponse:
    console = console_of(request)
    found = await asyncio.to_thread(console.queries.transcript, sender)
    if found is None:
        raise HTTPException(404, "No such conversation (or it was erased).")
    saved = request.query_params.get("saved")
    return console.render(request, "transcript.html", who, t=found, money=money, saved=saved, problem=None)


@router.post("/conversations/{sender}/test", response_model=None)
async def save_test(request: Request, sender: str, who: ReviewerAction) -> Response:
    console = console_of(request)
    form = await request.form()
    name = str(form.get("name") or "").strip().lower()
    problem = None
    if not _TEST_NAME.match(name):
        problem = "A test name: lower-case letters, digits, - and _, at most 60 characters."
    else:
        try:
            path = await asyncio.to_thread(console.review.save_test, sender, name, who.member.user_id)
        except BadLabel as bad:
            problem = str(bad)
        else:
            await asyncio.to_thread(
                console.audit.record, who.member.user_id, "save_test", email=who.member.email, object=name, count=1
            )
            target = f"/console/conversations/{quote(sender, safe='')}?saved={quote(_short(path))}"
            return RedirectResponse(target, status_code=303)
    found = await asyncio.to_thread(console.queries.transcript, sender)
    if found is None:
        raise HTTPException(404, "No such conversation (or it was erased).")
    return console.render(
        request, "transcript.html", who, status=422, t=found, money=money, saved=None, problem=problem
    )


def _short(path: str) -> str:
    """The saved file as the repository names it (tests/conversations/...), not the machine's path."""
    marker = path.find("tests/")
    return path[marker:] if marker >= 0 else path.rsplit("/", 1)[-1]
