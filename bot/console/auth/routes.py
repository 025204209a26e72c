"""The sign-in pages, the only console URLs that answer without a session:

- ``GET /console/signin``: the "Sign in with Slack" button (and why a sign-in failed);
- ``GET /console/signin/slack``: starts the flow (state, nonce, PKCE in a signed cookie) and
  redirects to the provider;
- ``GET /console/auth/callback``: the provider's redirect back; checks everything (oidc.py), records
  the sign-in in the staff audit, opens a session;
- ``GET /console/signin/dev/<token>``: make run's one-time admin link (sessions.py DevLink);
- ``POST /console/signout``: ends the session (a signed-in form, with its CSRF token).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .guard import ViewerAction, console_of, safe_next, signed
from .oidc import Flow, SignInFailed
from .staff import NoAccess, StaffMember

log = logging.getLogger("bot.console.auth")
FLOW_COOKIE = "console_signin"
FLOW_PATH = "/console/auth"
DEV_USER = "dev"

router = APIRouter(prefix="/console")


async def _open_session(request: Request, member: StaffMember, next_path: str) -> Response:
    console = console_of(request)
    sid, expires = await asyncio.to_thread(
        console.staff.open_session, member.user_id, console.settings.console_session_hours
    )
    await asyncio.to_thread(console.audit.record, member.user_id, "sign_in", email=member.email, object=member.role)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(value=console.cookie.encode(sid, expires), **console.cookie.cookie_args(expires))  # type: ignore[arg-type]
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


def _signin_page(
    request: Request, problem: str | None = None, status: int = 200, next_path: str = "/console/"
) -> HTMLResponse:
    console = console_of(request)
    return console.render(
        request,
        "signin.html",
        None,
        status=status,
        problem=problem,
        next_path=safe_next(next_path),
        slack_ready=console.provider.configured,
    )


@router.get("/signin", response_class=HTMLResponse)
async def signin(request: Request, next: str = "/console/") -> Response:
    if await signed(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _signin_page(request, next_path=next)


@router.get("/signin/slack")
async def signin_slack(request: Request, next: str = "/console/") -> Response:
    console = console_of(request)
    if not console.provider.configured:
        return _signin_page(request, "Sign in with Slack is not configured on this console.", 503)
    flow = Flow.start(safe_next(next))
    try:
        url = await console.provider.authorize_url(flow)
    except SignInFailed as failed:
        return _signin_page(request, str(failed), 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        flow.seal(console.settings.console_session_key),
        max_age=600,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: Lax cookies come along
        secure=console.cookie.secure,
    )
    return response


@router.get("/auth/callback")
async def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    console = console_of(request)
    flow = Flow.unseal(request.cookies.get(FLOW_COOKIE), console.settings.console_session_key)
    if error:
        return _signin_page(request, "The sign-in was cancelled at Slack.", 400)
    if flow is None or not state or not code:
        return _signin_page(request, "This sign-in has expired or was not started here; start again.", 400)
    try:
        identity = await console.provider.finish(flow, state, code)
    except SignInFailed as failed:
        log.info("sign-in refused: %s", failed)
        return _signin_page(request, str(failed), 403, flow.next)
    try:
        member = await asyncio.to_thread(console.staff.signed_in, identity.user_id, identity.email, identity.name)
    except NoAccess:
        await asyncio.to_thread(console.audit.record, identity.user_id, "sign_in_refused", email=identity.email)
        return _signin_page(request, "You have no role in the console yet: ask an admin to grant you one.", 403)
    return await _open_session(request, member, flow.next)


@router.get("/signin/dev/{token}")
async def signin_dev(request: Request, token: str) -> Response:
    console = console_of(request)
    if console.dev_link is None or not console.dev_link.use(token):
        return _signin_page(request, "This development sign-in link was used already, or has expired.", 403)
    member = StaffMember(DEV_USER, None, "Developer (make run)", "admin")
    await asyncio.to_thread(console.staff.dev_member, member)
    return await _open_session(request, member, "/console/")


@router.post("/signout")
async def signout(request: Request, who: ViewerAction) -> Response:
    console = console_of(request)
    await asyncio.to_thread(console.staff.close_session, who.sid)
    await asyncio.to_thread(console.audit.record, who.member.user_id, "sign_out", email=who.member.email)
    response = RedirectResponse("/console/signin", status_code=303)
    response.delete_cookie("console_session", path="/console")
    return response
