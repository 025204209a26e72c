"""Support cases, handoffs to people, callback requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ...services import handoffs, support
from .. import threaded
from ..deps import ActorDep, Db, HandoffReader
from ..schemas import CallbackOut, CaseOut, HandoffOut

router = threaded.router(prefix="/v1", tags=["people"])


class CaseIn(BaseModel):
    subject: str = Field(max_length=200)
    description: str = Field(max_length=10_000)
    priority: str = "normal"


@router.post("/cases", response_model=CaseOut, status_code=201)
def open_case(db: Db, actor: ActorDep, body: CaseIn) -> CaseOut:
    with db.session(write=True) as s:
        return CaseOut.of(support.open_case(s, actor, body.subject, body.description, body.priority))


@router.get("/cases", response_model=list[CaseOut])
def list_cases(db: Db, actor: ActorDep, open_only: bool = False) -> list[CaseOut]:
    with db.session() as s:
        return [CaseOut.of(c) for c in support.list_cases(s, actor, open_only=open_only)]


@router.get("/cases/{number}", response_model=CaseOut)
def get_case(db: Db, actor: ActorDep, number: str) -> CaseOut:
    with db.session() as s:
        return CaseOut.of(support.get_case(s, actor, number))


class NoteIn(BaseModel):
    text: str = Field(max_length=5_000)


@router.post("/cases/{number}/notes", response_model=CaseOut)
def add_case_note(db: Db, actor: ActorDep, number: str, body: NoteIn) -> CaseOut:
    with db.session(write=True) as s:
        return CaseOut.of(support.add_note(s, actor, number, body.text))


class LeadIn(BaseModel):
    name: str
    email: str
    company: str | None = None
    phone: str | None = None


class HandoffIn(BaseModel):
    queue: str = Field(description="sales or support")
    reason: str
    intent: str | None = None
    lead: LeadIn | None = Field(None, description="an anonymous visitor's details; customers are known")
    transcript: list[dict[str, Any]] = Field(default_factory=list, max_length=200)
    page_url: str | None = Field(None, max_length=2000)
    conversation_id: str | None = Field(None, max_length=200)


@router.post("/handoffs", response_model=HandoffOut, status_code=201)
def open_handoff(db: Db, actor: ActorDep, body: HandoffIn) -> HandoffOut:
    with db.session(write=True) as s:
        h = handoffs.request_handoff(
            s,
            actor,
            queue=body.queue,
            reason=body.reason,
            intent=body.intent,
            lead=body.lead.model_dump() if body.lead else None,
            transcript=body.transcript,
            page_url=body.page_url,
            conversation_id=body.conversation_id,
        )
        return HandoffOut.of(h)


@router.get("/handoffs/{number}", response_model=HandoffOut)
def get_handoff(db: Db, actor: HandoffReader, number: str, conversation_id: str | None = None) -> HandoffOut:
    """Members of the handoff's org see it; an anonymous visitor's only with its conversation id."""
    with db.session() as s:
        return HandoffOut.of(handoffs.get_handoff(s, actor, number, conversation_id=conversation_id))


class CallbackIn(BaseModel):
    queue: str = "sales"
    name: str
    phone: str
    window_start: datetime
    window_end: datetime
    timezone: str
    note: str = Field("", max_length=2000)
    handoff: str | None = None
    conversation_id: str | None = Field(None, max_length=200, description="needed to attach a visitor's handoff")


@router.post("/callbacks", response_model=CallbackOut, status_code=201)
def request_callback(db: Db, actor: ActorDep, body: CallbackIn) -> CallbackOut:
    with db.session(write=True) as s:
        cb = handoffs.request_callback(
            s,
            actor,
            queue=body.queue,
            name=body.name,
            phone=body.phone,
            window_start=body.window_start,
            window_end=body.window_end,
            timezone_name=body.timezone,
            note=body.note,
            handoff_number=body.handoff,
            conversation_id=body.conversation_id,
        )
        return CallbackOut.model_validate(cb)
