"""One id per customer turn, carried gateway -> Rasa (message metadata) -> action server -> billing
(``X-Request-Id``), so the log lines of one turn can be found in all four services.

The id lives in a context variable: set where a request or turn starts, read by the log formatter
and by the billing client when it sends a request. An id from upstream is reused only if it looks
like one (letters, digits and ``.-_:``, 8 to 64 characters): anything else is a new id, so a caller
cannot put text of its choice into the logs.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

HEADER = "X-Request-Id"
METADATA_KEY = "request_id"  # in Rasa's message metadata: stored with the user event, read by the actions
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new() -> str:
    return uuid.uuid4().hex


def well_formed(value: object) -> str | None:
    """``value`` if it can be used as a request id, else None."""
    return value if isinstance(value, str) and _WELL_FORMED.fullmatch(value) else None


def current() -> str | None:
    """The id of the request or turn this code runs for, if any."""
    return _current.get()


def bind(value: str | None) -> Token[str | None]:
    """Make ``value`` the current id (until ``unbind`` with the token returned)."""
    return _current.set(value)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)
