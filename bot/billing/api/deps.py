"""Request dependencies: the database and its clock, the calling service and its scope, the acting
user.

They are ``async def`` although they never wait: FastAPI runs a plain ``def`` dependency in its
thread pool, a hand-off to a worker thread and back for each (three or four a request, about a
fifth of a light request's CPU), whereas a coroutine runs on the event loop directly. Nothing here
may block: the database is only used inside the (threaded) route functions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..adapters.db import Database
from ..clock import Clock
from ..domain.errors import Invalid
from ..services.access import CHANNELS, Actor
from .callers import CUSTOMER, HANDOFFS_READ, SLACK_ACCOUNT_READ, SLACK_LINK, SLACK_ONLY, Caller, identify


def _database(request: Request) -> Database:
    db: Database = request.app.state.db  # create_app puts it there
    return db


async def get_db(request: Request) -> Database:
    return _database(request)


async def get_clock(request: Request) -> Clock:
    """The app's clock: its database's, so what a route formats (a quote's status, an invoice's
    overdue flag) and what the services it calls decide read the same time."""
    return _database(request).clock


async def service_caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """Callers (the action server, the gateway) present their own token as a Bearer token."""
    return identify(request.app.state.callers, authorization)


def acting_for(scope: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency: the user the caller acts for, if the caller's token holds ``scope``."""

    async def acting(
        caller: Annotated[Caller, Depends(service_caller)],
        x_acting_user: Annotated[str | None, Header()] = None,
        x_channel: Annotated[str, Header()] = "api",
        x_slack_team: Annotated[str | None, Header(max_length=64)] = None,
    ) -> Actor:
        """The user the caller acts for (already verified by the caller: Slack, a signed JWT...).
        A Slack identity carries the Slack team it was verified in (X-Slack-Team)."""
        if x_channel not in CHANNELS:
            raise Invalid("Unknown channel.", fields={"X-Channel": "one of " + ", ".join(sorted(CHANNELS))})
        if not caller.may(scope):
            raise caller.refuse(scope)
        if scope in SLACK_ONLY and not caller.may(CUSTOMER) and x_channel != "slack":
            raise caller.refuse(scope, "it reads and links accounts only for a Slack identity")
        email = (x_acting_user or "").strip().lower() or None
        return Actor(email=email, channel=x_channel, caller=caller.name, slack_team=x_slack_team or None)

    return acting


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
ClockDep = Annotated[Clock, Depends(get_clock)]
# Every route acts for a customer only with the action server's token, except those below.
ActorDep = Annotated[Actor, Depends(acting_for(CUSTOMER))]
SlackAccountReader = Annotated[Actor, Depends(acting_for(SLACK_ACCOUNT_READ))]
HandoffReader = Annotated[Actor, Depends(acting_for(HANDOFFS_READ))]
SlackLinker = Annotated[Actor, Depends(acting_for(SLACK_LINK))]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=64)]
