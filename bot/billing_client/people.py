"""Where people take over: support cases, handoffs to sales or support (with a visitor's
``Lead``), and callback requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._json import Json, _datetime, _oint, _ostr, _str

__all__ = ["Case", "Lead", "Handoff", "Callback"]


@dataclass(frozen=True)
class Case:
    number: str
    subject: str
    description: str
    priority: str
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, d: Json) -> Case:
        return cls(
            _str(d, "number"),
            _str(d, "subject"),
            _str(d, "description"),
            _str(d, "priority"),
            _str(d, "status"),
            _datetime(d, "created_at"),
            _datetime(d, "updated_at"),
        )


@dataclass(frozen=True)
class Lead:
    """An anonymous visitor's details, for a handoff (customers are known by their identity)."""

    name: str
    email: str
    company: str | None = None
    phone: str | None = None

    def to_json(self) -> Json:
        return {"name": self.name, "email": self.email, "company": self.company, "phone": self.phone}


@dataclass(frozen=True)
class Handoff:
    number: str
    queue: str  # sales, support
    reason: str
    status: str
    org_id: int | None
    edition: str | None
    lead_name: str | None
    lead_email: str | None
    lead_company: str | None
    lead_phone: str | None
    channel: str
    conversation_id: str | None
    created_at: datetime

    @classmethod
    def from_json(cls, d: Json) -> Handoff:
        return cls(
            _str(d, "number"),
            _str(d, "queue"),
            _str(d, "reason"),
            _str(d, "status"),
            _oint(d, "org_id"),
            _ostr(d, "edition"),
            _ostr(d, "lead_name"),
            _ostr(d, "lead_email"),
            _ostr(d, "lead_company"),
            _ostr(d, "lead_phone"),
            _str(d, "channel"),
            _ostr(d, "conversation_id"),
            _datetime(d, "created_at"),
        )


@dataclass(frozen=True)
class Callback:
    number: str
    queue: str
    name: str
    phone: str
    window_start: datetime
    window_end: datetime
    timezone: str
    status: str

    @classmethod
    def from_json(cls, d: Json) -> Callback:
        return cls(
            _str(d, "number"),
            _str(d, "queue"),
            _str(d, "name"),
            _str(d, "phone"),
            _datetime(d, "window_start"),
            _datetime(d, "window_end"),
            _str(d, "timezone"),
            _str(d, "status"),
        )
