"""Values every part of the API returns: ``Money`` (int minor units and its currency) and a
signed, short-lived ``Link``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._json import Json, _datetime, _int, _str

__all__ = ["Money", "Link"]


@dataclass(frozen=True)
class Money:
    """An amount in minor units (cents) of ``currency``; ``formatted`` is the backend's rendering."""

    amount: int
    currency: str
    formatted: str

    def __str__(self) -> str:
        return self.formatted

    @classmethod
    def from_json(cls, d: Json) -> Money:
        return cls(_int(d, "amount"), _str(d, "currency"), _str(d, "formatted"))


@dataclass(frozen=True)
class Link:
    """A signed, short-lived URL (invoice PDF, card form)."""

    url: str
    expires_at: datetime

    @classmethod
    def from_json(cls, d: Json) -> Link:
        return cls(_str(d, "url"), _datetime(d, "expires_at"))
