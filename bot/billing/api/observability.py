"""Each API request: its request id bound for the log lines it causes (the caller's
``X-Request-Id``, which the billing client sends with the turn's id, or a new one; echoed in the
answer), and counted and timed by route template (bot/billing/metrics.py)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.telemetry import request_ids

from .. import metrics

_HEADER = request_ids.HEADER.lower().encode()


class Observed:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER), None)
        rid = request_ids.well_formed(given) or request_ids.new()
        status = 500  # if the app raises before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (_HEADER, rid.encode())]}
            await send(message)

        bound = request_ids.bind(rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_ids.unbind(bound)
            # FastAPI puts the matched route in the scope: its template, not the path sent
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.REQUESTS.labels(route, scope["method"], str(status)).inc()
            metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
