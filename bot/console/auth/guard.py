"""Who is asking, and may they: the dependencies every console route declares.

- ``page(role)``: a GET page. No session: a redirect to the sign-in page (back here afterwards).
  A role below ``role``: 403 with a page that says which role it needs.
- ``download(role)``: a GET that hands out data (CSV). No session: 401, never a redirect, so a
  script or a stolen link gets nothing but an error.
- ``action(role)``: a POST. No session: 401; a role below ``role`` or a missing or wrong CSRF
  token: 403; nothing is read or changed before these pass.

Only the console's own session cookie counts. A customer's widget token, visitor token or JWT,
a service token, an ``Authorization`` header of any kind: none of them is looked at, so none
opens anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from .sessions import COOKIE
from .staff import StaffMember

if TYPE_CHECKING:
    from ..app import Console


class SignInFirst(Exception):
    """A page asked for without a session: answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path

    @property
    def location(self) -> str:
        return "/console/signin?next=" + quote(self.next_path, safe="/")


@dataclass(frozen=True)
class Signed:
    member: StaffMember
    sid: str
    csrf: str


def console_of(request: Request) -> Console:
    return request.app.state.console


async def signed(request: Request) -> Signed | None:
    console = console_of(request)
    sid = console.cookie.decode(request.cookies.get(COOKIE))
    if sid is None:
        return None
    member = await asyncio.to_thread(console.staff.session_member, sid)
    if member is None:
        return None
    return Signed(member, sid, console.cookie.csrf(sid))


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path only (no other site, no ``//host``)."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"


def _needs(role: str) -> HTTPException:
    return HTTPException(403, f"This needs the {role} role. An admin can grant it on the Staff page.")


def page(role: str = "viewer") -> Callable[[Request], Awaitable[Signed]]:
    async def dependency(request: Request) -> Signed:
        who = await signed(request)
        if who is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInFirst(target)
        if not who.member.can(role):
            raise _needs(role)
        return who

    return dependency


def download(role: str = "viewer") -> Callable[[Request], Awaitable[Signed]]:
    async def dependency(request: Request) -> Signed:
        who = await signed(request)
        if who is None:
            raise HTTPException(401, "Sign in to the console first.")
        if not who.member.can(role):
            raise _needs(role)
        return who

    return dependency


def action(role: str = "viewer") -> Callable[[Request], Awaitable[Signed]]:
    async def dependency(request: Request) -> Signed:
        who = await signed(request)
        if who is None:
            raise HTTPException(401, "Sign in to the console first; nothing was changed.")
        if not who.member.can(role):
            raise _needs(role)
        form = await request.form()
        if not console_of(request).cookie.csrf_ok(who.sid, _text(form.get("csrf"))):
            raise HTTPException(403, "This form has expired or did not come from the console; reload the page.")
        return who

    return dependency


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# What each route declares (``who: ReviewerAction``): the checks above, as FastAPI dependencies.
ViewerPage = Annotated[Signed, Depends(page("viewer"))]
AdminPage = Annotated[Signed, Depends(page("admin"))]
ViewerDownload = Annotated[Signed, Depends(download("viewer"))]
ViewerAction = Annotated[Signed, Depends(action("viewer"))]
ReviewerAction = Annotated[Signed, Depends(action("reviewer"))]
AdminAction = Annotated[Signed, Depends(action("admin"))]
