"""The admin API for one customer's data, in the gateway (the staff console calls it; nothing else
should): ``POST /admin/privacy/export``, ``POST /admin/privacy/erase``, ``GET /admin/privacy/audit``.

**Access.** ``Authorization: Bearer <PRIVACY_ADMIN_TOKEN>``, compared in constant time: none or a
malformed header is 401, any other token (a customer's JWT, a visitor token, another service's
token) 403, and nothing is read or changed. Without the setting the routes do not exist (404). The
body names the staff member who asked (``actor``), recorded in the audit with the action, the kind
of subject, a keyed hash of it (audit.py) and the rows per store; never the content.

**Bad input** (not JSON, an unknown field, no or two subjects, a malformed address) is a 422 that
says what is wrong; nothing is read, changed or audited.

**Export** is JSON: per conversation, each store's rows (Rasa events as Rasa stores them, widget
messages, handoff records, ratings). Texts were redacted of card numbers before they were stored;
the export runs the redactor over every ``text`` and ``comment`` once more, so a row written before
a redactor fix cannot leak a number.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.billing.adapters.db import normalise_url
from bot.gateway.config import GatewaySettings, tracker_url
from bot.gateway.state import _engine
from bot.gateway.widget.identity import VisitorIds
from bot.nlu.cards import redact_shown

from .audit import Audit, subject_ref
from .stores import Conversations
from .subjects import BadSubject, Subject

NOT_INCLUDED = [
    "Billing records (orders, invoices, payments, quotes, support cases, sales handoffs and callback "
    "requests) are the vendor's legal record, kept by the billing system; this API neither exports nor erases them.",
    "Messages in the vendor's Slack workspace (handoff threads, DMs) are kept by Slack under the workspace's "
    "own retention settings; we erase our copies only.",
]
_ACTOR = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
TEXT_FIELDS = ("text", "comment")


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (redact_shown(v)[0] if k in TEXT_FIELDS and isinstance(v, str) else _redacted(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _problem(status: int, detail: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status_code=status, detail=detail, headers=headers)


class PrivacyApi:
    def __init__(self, settings: GatewaySettings, gateway_engine: Any) -> None:
        url = tracker_url(settings)
        self.tracker_missing = url is None
        console = settings.console_database_url
        self.conversations = Conversations(
            gateway_engine,
            _engine(normalise_url(url)) if url else None,
            _engine(normalise_url(console)) if console else None,
        )
        self.audit = Audit(gateway_engine)
        self.visitor_ids = VisitorIds(settings.widget_signing_key)
        self._token = settings.privacy_admin_token.encode()
        self._ref_key = settings.widget_signing_key

    def check(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _problem(401, "this API needs the admin token: Authorization: Bearer <PRIVACY_ADMIN_TOKEN>")
        if not hmac.compare_digest(token.strip().encode(), self._token):
            raise _problem(403, "this token may not use the privacy API")

    async def _request(self, request: Request) -> tuple[str, Subject]:
        try:
            body = await request.json()
        except ValueError:
            raise _problem(422, 'the body must be JSON: {"actor": ..., "subject": {...}}') from None
        if not isinstance(body, dict):
            raise _problem(422, "the body must be a JSON object")
        unknown = sorted(set(body) - {"actor", "subject"})
        if unknown:
            raise _problem(422, f"unknown field {unknown[0]!r}")
        actor = body.get("actor")
        if not isinstance(actor, str) or not _ACTOR.match(actor.strip()):
            raise _problem(422, "actor: who is asking (the staff member's email or Slack id), at most 200 characters")
        try:
            return actor.strip(), Subject.parse(body.get("subject"))
        except BadSubject as bad:
            raise _problem(422, str(bad)) from None

    def _audited(
        self, actor: str, action: str, subject: Subject, counts: dict[str, int], conversations: int, started: float
    ) -> None:
        """The audit row of one export or erasure: counts and a keyed reference, never the subject."""
        self.audit.record(
            actor,
            action,
            counts,
            conversations=conversations,
            seconds=time.monotonic() - started,
            subject=(subject.kind, subject_ref(self._ref_key, subject.kind, subject.value)),
        )

    def _export_sync(self, actor: str, subject: Subject) -> dict[str, Any]:
        started = time.monotonic()
        senders = subject.senders(self.conversations, self.visitor_ids)
        held = _redacted(self.conversations.export(senders))
        counts: dict[str, int] = {}
        for stores in held.values():
            for name, rows in stores.items():
                counts[name] = counts.get(name, 0) + len(rows)
        self._audited(actor, "export", subject, counts, len(held), started)
        return {
            "subject": {subject.kind: subject.value},
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "counts": counts,
            "conversations": held,
            "not_included": NOT_INCLUDED,
        }

    def _erase_sync(self, actor: str, subject: Subject) -> dict[str, Any]:
        started = time.monotonic()
        senders = subject.senders(self.conversations, self.visitor_ids)
        held = set(self.conversations.export(senders))
        counts = self.conversations.erase(senders)
        self._audited(actor, "erase", subject, counts, len(held), started)
        return {"subject": {subject.kind: subject.value}, "conversations": len(held), "erased": counts}

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/admin/privacy", dependencies=[Depends(self.check)])

        @router.post("/export")
        async def export(request: Request) -> JSONResponse:
            actor, subject = await self._request(request)
            return JSONResponse(await asyncio.to_thread(self._export_sync, actor, subject))

        @router.post("/erase")
        async def erase(request: Request) -> JSONResponse:
            actor, subject = await self._request(request)
            if self.tracker_missing:
                raise _problem(503, "RASA_TRACKER_URL is not set: an erasure would miss Rasa's copy; nothing erased")
            return JSONResponse(await asyncio.to_thread(self._erase_sync, actor, subject))

        @router.get("/audit")
        async def audit_rows(limit: int = 100) -> JSONResponse:
            if not 1 <= limit <= 1000:
                raise _problem(422, "limit: 1 to 1000")
            return JSONResponse({"audit": await asyncio.to_thread(self.audit.latest, limit)})

        return router


def mount(app: FastAPI, settings: GatewaySettings, gateway_engine: Any) -> PrivacyApi | None:
    """Serve the API when ``PRIVACY_ADMIN_TOKEN`` is set; otherwise its URLs do not exist."""
    if not settings.privacy_admin_token:
        return None
    api = PrivacyApi(settings, gateway_engine)
    app.include_router(api.router())
    return api
