"""Request dependencies: the database, the calling service, the acting user."""
from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..adapters.db import Database
from ..config import get_settings
from ..domain.errors import Invalid, Unauthenticated
from ..services.access import CHANNELS, Actor


def get_db(request: Request) -> Database:
    return request.app.state.db


def service_caller(authorization: Annotated[str | None, Header()] = None) -> str:
    """Callers (the action server, the gateway) present a service token as a Bearer token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token:
        for known in get_settings().service_tokens:
            if hmac.compare_digest(token.encode(), known.encode()):
                return "service"
    raise Unauthenticated("A valid service token is required.", code="bad_service_token")


def acting(
    _caller: Annotated[str, Depends(service_caller)],
    x_acting_user: Annotated[str | None, Header()] = None,
    x_channel: Annotated[str, Header()] = "api",
) -> Actor:
    """The user the caller acts for (already verified by the caller: Slack, a signed JWT...)."""
    if x_channel not in CHANNELS:
        raise Invalid("Unknown channel.", fields={"X-Channel": "one of " + ", ".join(sorted(CHANNELS))})
    email = (x_acting_user or "").strip().lower() or None
    return Actor(email=email, channel=x_channel)


T = TypeVar("T")


def keyed_write(db: Database, response: Response, work: Callable[[Session], tuple[T, bool]]) -> T:
    """Run a write keyed by an Idempotency-Key. ``work`` returns (body, created); a replay answers
    200 instead of 201. If a concurrent twin with the same key commits first (a unique-key
    violation), run once more: it then finds the twin's result and returns that."""
    for attempt in range(2):
        try:
            with db.session(write=True) as s:
                body, created = work(s)
            break
        except IntegrityError:
            if attempt:
                raise
    if not created:
        response.status_code = 200
    return body


Db = Annotated[Database, Depends(get_db)]
ActorDep = Annotated[Actor, Depends(acting)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=64)]
