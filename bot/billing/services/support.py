"""Support cases: any member of a customer org may open one and follow it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.orm import SupportCase
from ..clock import clock_of
from ..domain.errors import Invalid, NotFound
from . import audit
from .access import Actor, member
from .numbering import by_number
from .validation import required_text

PRIORITIES = ("low", "normal", "high", "urgent")


def open_case(session: Session, actor: Actor, subject: str, description: str, priority: str = "normal") -> SupportCase:
    user = member(session, actor)
    subject = required_text(subject, "subject", max_len=200)
    description = required_text(description, "description", max_len=10_000)
    if priority not in PRIORITIES:
        raise Invalid(
            "Priority is low, normal, high or urgent.", fields={"priority": "one of " + ", ".join(PRIORITIES)}
        )
    case = SupportCase(
        org_id=user.org_id,
        created_by_id=user.id,
        subject=subject,
        description=description,
        priority=priority,
        status="new",
        channel=actor.channel,
    )
    session.add(case)
    session.flush()
    audit.record(
        session,
        actor,
        action="case.open",
        entity="case",
        entity_id=case.number,
        org_id=user.org_id,
        after={"subject": subject, "priority": priority},
    )
    return case


def get_case(session: Session, actor: Actor, number: str) -> SupportCase:
    """Members see their org's cases; another org's case does not exist for them."""
    user = member(session, actor)
    case = by_number(session, SupportCase, number)
    if case is None or case.org_id != user.org_id:
        raise NotFound(f"I can't find case {number}.", code="unknown_case")
    return case


def list_cases(session: Session, actor: Actor, *, open_only: bool = False) -> list[SupportCase]:
    user = member(session, actor)
    query = select(SupportCase).where(SupportCase.org_id == user.org_id)
    if open_only:
        query = query.where(SupportCase.status != "closed")
    return list(session.scalars(query.order_by(SupportCase.created_at.desc(), SupportCase.id.desc()).limit(20)))


def add_note(session: Session, actor: Actor, number: str, text: str) -> SupportCase:
    """What the customer adds to their case later ("I just told you, INV-1046 was charged twice"),
    kept after the description, with who added it."""
    user = member(session, actor)
    note = required_text(text, "text", max_len=5_000)
    case = by_number(session, SupportCase, number, lock=True)
    if case is None or case.org_id != user.org_id:
        raise NotFound(f"I can't find case {number}.", code="unknown_case")
    case.description = f"{case.description}\n\nAdded by {user.name}: {note}"[:20_000]
    case.updated_at = clock_of(session).now()
    audit.record(
        session,
        actor,
        action="case.note",
        entity="case",
        entity_id=case.number,
        org_id=case.org_id,
        after={"note_chars": len(note)},
    )
    return case


def set_status(session: Session, actor: Actor, number: str, status: str) -> SupportCase:
    """Agents' side (service callers): move a case along."""
    if status not in ("new", "open", "pending", "closed"):
        raise Invalid("Unknown status.", fields={"status": "new, open, pending or closed"})
    case = by_number(session, SupportCase, number, lock=True)
    if case is None:
        raise NotFound(f"I can't find case {number}.", code="unknown_case")
    before = case.status
    case.status, case.updated_at = status, clock_of(session).now()
    audit.record(
        session,
        actor,
        action="case.status",
        entity="case",
        entity_id=case.number,
        org_id=case.org_id,
        before={"status": before},
        after={"status": status},
    )
    return case
