"""Handoffs to a person (sales leads, support escalations) and callback requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from ..adapters.orm import CallbackRequest, Handoff, Org, User
from ..clock import clock_of
from ..domain.errors import Invalid, NotFound
from . import audit
from .access import Actor, known_user
from .numbering import by_number
from .subscriptions import active_contract, edition_line
from .validation import free_text, normalise_email, normalise_phone, required_text

QUEUES = ("sales", "support")
MAX_TRANSCRIPT = 50


def _queue(queue: str) -> str:
    if queue not in QUEUES:
        raise Invalid("The queue is sales or support.", fields={"queue": "sales or support"})
    return queue


def _transcript(transcript: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The last MAX_TRANSCRIPT lines, every string in them without card numbers."""
    lines = list(transcript or [])[-MAX_TRANSCRIPT:]
    return [
        {k: free_text(v) if isinstance(v, str) else v for k, v in line.items()} if isinstance(line, dict) else line
        for line in lines
    ]


def open_handoff(
    session: Session,
    actor: Actor,
    *,
    queue: str,
    reason: str,
    intent: str | None = None,
    org_id: int | None = None,
    user: User | None = None,
    edition: str | None = None,
    lead: dict[str, str | None] | None = None,
    transcript: list[dict[str, Any]] | None = None,
    page_url: str | None = None,
    conversation_id: str | None = None,
    now: datetime | None = None,
) -> Handoff:
    _queue(queue)
    reason = required_text(reason, "reason", max_len=200)
    lead = lead or {}
    if user is None and not lead:
        raise Invalid(
            "A visitor's handoff needs their name and work email.", fields={"lead": "name and email required"}
        )
    handoff = Handoff(
        queue=queue,
        reason=reason,
        intent=free_text(intent) or None,
        org_id=org_id,
        user_id=user.id if user else None,
        edition=edition,
        lead_name=required_text(lead["name"], "lead.name", max_len=200, label="name") if lead else None,
        lead_email=normalise_email(lead.get("email") or "", field="lead.email") if lead else None,
        lead_company=free_text(lead.get("company"))[:200] or None if lead else None,
        lead_phone=normalise_phone(phone, field="lead.phone") if lead and (phone := lead.get("phone")) else None,
        transcript=_transcript(transcript),
        page_url=free_text(page_url) or None,
        channel=actor.channel,
        conversation_id=conversation_id,
        status="open",
        created_at=now or clock_of(session).now(),
    )
    session.add(handoff)
    session.flush()
    audit.record(
        session,
        actor,
        action="handoff.open",
        entity="handoff",
        entity_id=handoff.number,
        org_id=org_id,
        after={"queue": queue, "reason": reason},
    )
    return handoff


def request_handoff(session: Session, actor: Actor, **fields: Any) -> Handoff:
    """From the API: a known user (the acting user) or an anonymous visitor with lead details."""
    user = known_user(session, actor)
    org_id = edition = None
    if user is not None:
        org_id = user.org_id
        try:
            edition = edition_line(active_contract(session, org_id)).product.name
        except NotFound:
            edition = None
    return open_handoff(session, actor, org_id=org_id, user=user, edition=edition, **fields)


def get_handoff(session: Session, actor: Actor, number: str, *, conversation_id: str | None = None) -> Handoff:
    """A handoff is visible to members of its org, and to the conversation it came from (an
    anonymous visitor's: the caller passes the conversation id it derived). Others: 404."""
    handoff = by_number(session, Handoff, number)
    user = known_user(session, actor)
    mine = handoff is not None and (
        (user is not None and handoff.org_id is not None and user.org_id == handoff.org_id)
        or (conversation_id is not None and handoff.conversation_id == conversation_id)
    )
    if handoff is None or not mine:
        raise NotFound(f"There is no handoff {number}.", code="unknown_handoff")
    return handoff


def request_callback(
    session: Session,
    actor: Actor,
    *,
    queue: str,
    name: str,
    phone: str,
    window_start: datetime,
    window_end: datetime,
    timezone_name: str,
    note: str = "",
    handoff_number: str | None = None,
    conversation_id: str | None = None,
    now: datetime | None = None,
) -> CallbackRequest:
    _queue(queue)
    errors = {}
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "an IANA time zone such as America/New_York"
    if window_start.tzinfo is None or window_end.tzinfo is None:
        errors["window"] = "times need a UTC offset"
    elif window_end <= window_start:
        errors["window"] = "the window must end after it starts"
    elif window_end <= (now or clock_of(session).now()):
        errors["window"] = "the window is in the past"
    if errors:
        raise Invalid("That callback time doesn't work.", fields=errors)
    handoff = get_handoff(session, actor, handoff_number, conversation_id=conversation_id) if handoff_number else None
    user = known_user(session, actor)
    callback = CallbackRequest(
        queue=queue,
        handoff_id=handoff.id if handoff else None,
        org_id=user.org_id if user else (handoff.org_id if handoff else None),
        name=required_text(name, "name", max_len=200),
        phone=normalise_phone(phone),
        window_start=window_start,
        window_end=window_end,
        timezone=timezone_name,
        note=free_text(note)[:2000],
        status="pending",
    )
    session.add(callback)
    session.flush()
    audit.record(
        session,
        actor,
        action="callback.request",
        entity="callback",
        entity_id=callback.number,
        org_id=callback.org_id,
        after={"queue": queue, "phone": callback.phone},
    )
    return callback


def org_of(session: Session, handoff: Handoff) -> Org | None:
    return session.get(Org, handoff.org_id) if handoff.org_id else None
