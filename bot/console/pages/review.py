"""``GET /console/review``: the review inbox: what the assistant did not understand or got wrong,
grouped by similarity; ``POST /console/review/label``: a reviewer gives a group's chosen lines the
right intent (or marks them out of scope), which the data layer writes to the reviewed-data file
(``nlu_data/reviewed.yml``) for the next ``make train``. Viewers see the inbox but get no form, and
a label posted by one is refused (403) before anything is read."""

from __future__ import annotations

import asyncio
from typing import cast, get_args

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..auth.guard import ReviewerAction, Signed, ViewerPage, console_of
from ..data.api import OUT_OF_SCOPE, BadLabel, ReviewReason

router = APIRouter(prefix="/console")
REASONS: tuple[str, ...] = get_args(ReviewReason)
REASON_NAMES = {
    "fallback": "Not understood (fallback)",
    "low_confidence": "Low confidence",
    "declined_suggestion": "“Did you mean” declined",
    "out_of_scope_retried": "Taken as out of scope, then asked again",
    "not_helpful": "Rated not helpful",
    "handoff_after_miss": "Handed off after a misunderstanding",
}


async def _inbox(request: Request, who: Signed, *, status: int = 200, problem: str | None = None) -> HTMLResponse:
    console = console_of(request)
    reason = request.query_params.get("reason") or ""
    if reason and reason not in REASONS:
        raise HTTPException(422, f"reason: one of {', '.join(REASONS)}")
    groups = await asyncio.to_thread(console.review.groups, cast("ReviewReason | None", reason or None))
    intents = await asyncio.to_thread(console.review.intents)
    return console.render(
        request,
        "review.html",
        who,
        status=status,
        groups=groups,
        intents=[i for i in intents if i != OUT_OF_SCOPE],
        out_of_scope=OUT_OF_SCOPE,
        reason=reason,
        reasons=REASON_NAMES,
        labelled=request.query_params.get("labelled"),
        problem=problem,
        can_label=who.member.can("reviewer"),
    )


@router.get("/review", response_class=HTMLResponse)
async def inbox(request: Request, who: ViewerPage) -> HTMLResponse:
    return await _inbox(request, who)


@router.post("/review/label", response_model=None)
async def label(request: Request, who: ReviewerAction) -> Response:
    console = console_of(request)
    form = await request.form()
    intent = str(form.get("intent") or "").strip()
    try:
        ids = [int(str(v)) for v in form.getlist("message")]
    except ValueError:
        return await _inbox(request, who, status=422, problem="The lines to label are not valid; nothing was written.")
    if not ids:
        return await _inbox(request, who, status=422, problem="Tick at least one line to label; nothing was written.")
    if not intent:
        return await _inbox(request, who, status=422, problem="Choose an intent, or out of scope; nothing was written.")
    try:
        added = await asyncio.to_thread(console.review.label, ids, intent, who.member.user_id)
    except BadLabel as bad:
        return await _inbox(request, who, status=422, problem=f"{bad} Nothing was written.")
    await asyncio.to_thread(
        console.audit.record, who.member.user_id, "label", email=who.member.email, object=intent, count=added
    )
    reason = str(form.get("reason") or "")
    back = f"/console/review?labelled={added}" + (f"&reason={reason}" if reason in REASONS else "")
    return RedirectResponse(back, status_code=303)
