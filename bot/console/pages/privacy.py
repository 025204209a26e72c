"""``/console/privacy`` (admins): everything held about one customer, as a JSON download, or erased.

Both go through the gateway's privacy admin API (bot/privacy/api.py: ``POST /admin/privacy/export``
and ``/erase``), so there is one implementation of "everything held" (Rasa's tracker, the widget
history, handoff records, ratings, the console's own index) and one privacy audit, in which the
signed-in staff member is the actor. The console's own staff audit records that they did it
(``privacy_export`` / ``privacy_erase``) and how many conversations, never whom.

An erasure needs two steps: the first POST shows what will be erased and asks the admin to type the
customer's identifier again; only a second POST with the same identifier erases.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bot.privacy.subjects import KINDS, BadSubject, Subject

from ..auth.guard import AdminAction, AdminPage, Signed, console_of

router = APIRouter(prefix="/console")


class PrivacyUnavailable(Exception):
    """The gateway's privacy API did not do it; the message is for the admin."""


class PrivacyClient:
    def __init__(self, gateway_url: str, token: str, *, timeout: float) -> None:
        self.configured = bool(token)
        self._client = httpx.AsyncClient(
            base_url=gateway_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    async def call(self, what: str, actor: str, subject: Subject) -> dict[str, Any]:
        if not self.configured:
            raise PrivacyUnavailable("PRIVACY_ADMIN_TOKEN is not set on the console: export and erasure are off.")
        try:
            answer = await self._client.post(
                f"/admin/privacy/{what}", json={"actor": actor, "subject": {subject.kind: subject.value}}
            )
        except httpx.HTTPError:
            raise PrivacyUnavailable("The gateway's privacy API did not answer in time; nothing was changed.") from None
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or not isinstance(body, dict):
            detail = body.get("detail") if isinstance(body, dict) else None
            raise PrivacyUnavailable(f"The gateway refused ({answer.status_code}): {detail or 'no reason given'}.")
        return body

    async def aclose(self) -> None:
        await self._client.aclose()


def _subject(form: Any) -> tuple[str, str, Subject | None, str | None]:
    kind = str(form.get("kind") or "email")
    value = str(form.get("value") or "").strip()
    if kind not in KINDS:
        return kind, value, None, f"Choose one of: {', '.join(KINDS)}."
    try:
        return kind, value, Subject.parse({kind: value}), None
    except BadSubject as bad:
        return kind, value, None, str(bad)


def _actor(who: Signed) -> str:
    return who.member.email or f"slack:{who.member.user_id}"


def _page(request: Request, who: Signed, status: int = 200, **context: Any) -> HTMLResponse:
    console = console_of(request)
    values = {"kind": "email", "value": "", "problem": None, "confirm": None, "erased": None, **context}
    return console.render(
        request, "privacy.html", who, status=status, kinds=KINDS, configured=console.privacy.configured, **values
    )


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_page(request: Request, who: AdminPage) -> HTMLResponse:
    return _page(request, who)


@router.post("/privacy/export", response_model=None)
async def export(request: Request, who: AdminAction) -> Response:
    console = console_of(request)
    kind, value, subject, problem = _subject(await request.form())
    if subject is None:
        return _page(request, who, 422, kind=kind, value=value, problem=problem)
    try:
        held = await console.privacy.call("export", _actor(who), subject)
    except PrivacyUnavailable as failed:
        return _page(request, who, 502, kind=kind, value=value, problem=str(failed))
    conversations = len(held.get("conversations") or {})
    await asyncio.to_thread(
        console.audit.record,
        who.member.user_id,
        "privacy_export",
        email=who.member.email,
        object=kind,
        count=conversations,
    )
    return Response(
        json.dumps(held, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="customer-data-{kind}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/privacy/erase", response_class=HTMLResponse)
async def erase(request: Request, who: AdminAction) -> HTMLResponse:
    console = console_of(request)
    form = await request.form()
    kind, value, subject, problem = _subject(form)
    if subject is None:
        return _page(request, who, 422, kind=kind, value=value, problem=problem)
    confirmation = str(form.get("confirm") or "").strip()
    if not confirmation:  # step one: say what will happen, ask for the identifier again
        return _page(request, who, kind=kind, value=subject.value, confirm=subject)
    if confirmation.lower() != subject.value.lower():
        return _page(
            request, who, 422, kind=kind, value=subject.value, confirm=subject,
            problem="The identifier typed to confirm does not match; nothing was erased.",
        )  # fmt: skip
    try:
        done = await console.privacy.call("erase", _actor(who), subject)
    except PrivacyUnavailable as failed:
        return _page(request, who, 502, kind=kind, value=value, problem=str(failed))
    count = int(done.get("conversations") or 0)
    await asyncio.to_thread(
        console.audit.record, who.member.user_id, "privacy_erase", email=who.member.email, object=kind, count=count
    )
    return _page(request, who, erased=done)
