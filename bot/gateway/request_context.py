"""Each HTTP request the gateway serves runs with a request id bound (bot/telemetry/request_ids.py),
which its log lines carry and a turn it starts passes on to Rasa, the actions and billing. The
response says it in ``X-Request-Id``.

The id is the balancer's when the gateway sits behind one (``FORWARDED_ALLOW_IPS`` set): HAProxy
drops any ``X-Request-Id`` a client sends and sets its own (deploy/haproxy.cfg.template), so its log
line and ours share the id. Without a balancer a client's header is ignored and a new id is made.
A WebSocket is one long request: the widget binds a fresh id to each message instead (widget/ws.py).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.telemetry import request_ids

_HEADER = request_ids.HEADER.lower().encode()


class RequestIds:
    def __init__(self, app: ASGIApp, *, trust_upstream: bool = False) -> None:
        self.app = app
        self.trust_upstream = trust_upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        if self.trust_upstream:
            given = next((v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER), None)
        rid = request_ids.well_formed(given) or request_ids.new()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (_HEADER, rid.encode())]}
            await send(message)

        bound = request_ids.bind(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_ids.unbind(bound)
