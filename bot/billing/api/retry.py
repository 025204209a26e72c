"""Run a request once more when the database dropped its connection under it.

A PostgreSQL restart or failover cuts the connections in the pool; the pool's pre-ping only
catches a connection that is already dead when it is checked out, not one cut in the middle of a
statement. That request would answer 500 although a second try, on a fresh connection, works.

Only requests that are safe to run twice are tried again: reads (GET, HEAD) and writes sent with
an ``Idempotency-Key`` (orders, payments: the same key applies at most once, even if the cut came
at the commit and the first try did commit). Any other write answers 500 as before, and nothing
is tried more than twice. Only before the response has started: a request whose answer is on
its way is never run again.
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("billing.api")

SAFE_METHODS = frozenset({"GET", "HEAD"})


def safe_to_repeat(scope: Scope) -> bool:
    return scope["method"] in SAFE_METHODS or any(name.lower() == b"idempotency-key" for name, _ in scope["headers"])


class RetryLostConnection:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not safe_to_repeat(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        for attempt in (1, 2):
            run = _Attempt(body, receive, send)
            try:
                await self.app(scope, run.receive, run.send)
                return
            except DBAPIError as error:
                if attempt == 2 or run.started or not error.connection_invalidated:
                    raise
                log.warning("database connection lost during %s %s; trying once more on a new one",
                            scope["method"], scope["path"])


class _Attempt:
    """One run of the request: the buffered body first, then the client's own messages (a
    disconnect); whether the response has started."""

    def __init__(self, body: bytes, receive: Receive, send: Send) -> None:
        self.body, self._receive, self._send = body, receive, send
        self.body_sent = self.started = False

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        return await self._receive()

    async def send(self, message: Message) -> None:
        self.started = True
        await self._send(message)


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)
