"""``/console/staff`` (admins): who has signed in, with which role, a form to change a role, and the
latest staff actions (the staff audit). A role change is audited with the old and new role."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..auth.guard import AdminAction, AdminPage, Signed, console_of
from ..auth.staff import NO_ACCESS, BadRole
from ..config import ROLES

router = APIRouter(prefix="/console")


async def _page(request: Request, who: Signed, *, status: int = 200, problem: str | None = None) -> HTMLResponse:
    console = console_of(request)
    people = await asyncio.to_thread(console.staff.everyone)
    audit = await asyncio.to_thread(console.audit.latest, 100)
    return console.render(
        request,
        "staff.html",
        who,
        status=status,
        people=people,
        audit=audit,
        roles=(*ROLES, NO_ACCESS),
        problem=problem,
        changed=request.query_params.get("changed"),
        default_role=console.settings.console_default_role,
    )


@router.get("/staff", response_class=HTMLResponse)
async def staff_page(request: Request, who: AdminPage) -> HTMLResponse:
    return await _page(request, who)


@router.post("/staff/role", response_model=None)
async def change_role(request: Request, who: AdminAction) -> Response:
    console = console_of(request)
    form = await request.form()
    user_id, role = str(form.get("user") or ""), str(form.get("role") or "")
    try:
        before = await asyncio.to_thread(console.staff.set_role, user_id, role, by=who.member)
    except BadRole as bad:
        return await _page(request, who, status=422, problem=f"{bad}; nothing was changed.")
    await asyncio.to_thread(
        console.audit.record,
        who.member.user_id,
        "role_change",
        email=who.member.email,
        object=f"{user_id}: {before} -> {role}",
        count=1,
    )
    return RedirectResponse("/console/staff?changed=1", status_code=303)
