"""The website chat widget: one script tag on the vendor's page, a WebSocket to the gateway.

    <script src="https://GATEWAY/widget.js" async data-token="<JWT for a logged-in customer>"
            data-greeting="Questions about pricing?"></script>

Routes:
    GET  /widget.js            the widget (static/widget.js with static/widget.css inside), gzip, ETag
    GET  /widget/static/...    its stylesheet (for browsers without constructable stylesheets), demo CSS
    WS   /widget/ws            the conversation (ws.py has the protocol)
    POST /widget/internal/push a person's message into a conversation (Bearer GATEWAY_TOKEN; internal)
    GET  /, /account           the demo pricing page, as a visitor and signed in (demo.py; /account
                               only in development: it signs anyone in)

Modules: identity.py (signed visitor ids, JWT), history.py (messages kept server-side), hub.py
(one ordered worker per conversation, delivery to every tab, on every gateway replica through
../fanout.py when GATEWAY_REDIS_URL is set), limits.py (rate limits), ws.py.

Other parts of the gateway reach a widget conversation with ``gw.widget.push(sender, text, name=...)``
(e.g. a sales rep answering a handoff from Slack: the handoff's conversation_id is the sender);
other processes (an agent console, a bridge running elsewhere) POST to /widget/internal/push:

    POST /widget/internal/push   Authorization: Bearer $GATEWAY_TOKEN
    {"conversation_id": "wv-...", "text": "Hi, Dana from sales here.", "name": "Dana (Sales)"}
    -> 200 {"seq": 42}; 401 without the token; 404 for a conversation that has no message; 422 bad input
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from bot.settings_check import in_production

from ..fanout import fanout_from
from .demo import DemoPages
from .history import History
from .hub import Hub
from .identity import Jwts, VisitorIds
from .rating import comments
from .ws import WidgetSocket

if TYPE_CHECKING:
    from ..app import Gateway

STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["mount", "widget_js", "Hub"]


def _minify_css(css: str) -> str:
    import re

    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{};:,>])\s*", r"\1", css).replace(";}", "}").strip()


def widget_js() -> bytes:
    """The script as served: widget.js with the stylesheet inlined as a string (one request)."""
    js = (STATIC / "widget.js").read_text()
    css = _minify_css((STATIC / "widget.css").read_text())
    return js.replace('"__WIDGET_CSS__"', json.dumps(css)).encode()


class _Script:
    def __init__(self) -> None:
        self.body = widget_js()
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def response(self, request: Request) -> Response:
        headers = {
            "ETag": self.etag,
            "Cache-Control": "public, max-age=300",
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(
                self.gzipped,
                media_type="text/javascript; charset=utf-8",
                headers={**headers, "Content-Encoding": "gzip"},
            )
        return Response(self.body, media_type="text/javascript; charset=utf-8", headers=headers)


def mount(app: FastAPI, gw: Gateway) -> None:
    settings = gw.settings
    history = History(gw.state.engine, keep_days=settings.widget_history_days, limit=settings.widget_history_limit)
    fanout = fanout_from(
        settings.gateway_redis_url,
        settings.gateway_redis_prefix,
        settings.gateway_redis_timeout_s,
        key=settings.gateway_fanout_key,
        username=settings.gateway_redis_username,
        password=settings.gateway_redis_password,
    )
    hub = Hub(gw.rasa, history, fanout, ratings=gw.ratings)
    hub.diverters.append(comments(hub, gw.ratings))  # first: a comment awaited is not the bot's
    jwts = Jwts(settings)
    endpoint = WidgetSocket(settings, hub, gw.state, VisitorIds(settings.widget_signing_key), jwts)
    script = _Script()
    gw.widget = hub  # push() for the handoff bridge
    app.state.widget = hub
    app.state.widget_jwts = jwts
    gw.on_shutdown.append(hub.close)
    gw.on_startup.append(lambda: fanout.start(hub.remote, on_reconnect=hub.catch_up_all))
    gw.on_shutdown.append(fanout.stop)  # before hub.close: shutdown steps run in reverse

    @app.get("/widget.js", include_in_schema=False)
    async def widget_script(request: Request) -> Response:
        return script.response(request)

    styles = {name: (STATIC / name).read_bytes() for name in ("widget.css", "demo.css")}

    @app.get("/widget/static/{name}", include_in_schema=False)
    async def widget_style(name: str) -> Response:
        if name not in styles:
            return Response(status_code=404)
        return Response(
            styles[name],
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @app.websocket("/widget/ws")
    async def widget_socket(websocket: WebSocket) -> None:
        await endpoint(websocket)

    @app.post("/widget/internal/push", include_in_schema=False)
    async def widget_push(request: Request) -> Response:
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), settings.gateway_token.encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            body = None
        sender = body.get("conversation_id") if isinstance(body, dict) else None
        text = body.get("text") if isinstance(body, dict) else None
        name = body.get("name") if isinstance(body, dict) else None
        if (
            not isinstance(sender, str)
            or not sender.startswith(("wv-", "wu-"))
            or len(sender) > 64
            or not isinstance(text, str)
            or not text.strip()
            or len(text) > 8_000
            or not (name is None or isinstance(name, str))
        ):
            return JSONResponse(
                {"error": "conversation_id (wv-/wu-...), text (1 to 8,000 characters), name?"}, status_code=422
            )
        if not await history.exists(sender):
            return JSONResponse({"error": "no such conversation"}, status_code=404)
        row = await hub.push(sender, text.strip(), name=name.strip() if name and name.strip() else None)
        return JSONResponse({"seq": row.id})

    if settings.widget_demo_page:
        pages = DemoPages(settings, gw.billing, jwts)

        @app.get("/", include_in_schema=False)
        async def pricing(request: Request) -> Response:
            return await pages.page(request, signed_in=False)

        if not in_production():
            # It signs whoever opens it in as the demo admin: development only, whatever the settings.
            @app.get("/account", include_in_schema=False)
            async def account(request: Request) -> Response:
                return await pages.page(request, signed_in=True)
