"""The widget's WebSocket: ``/widget/ws``.

Protocol (JSON text frames):

    client -> {"type": "hello", "visitor": <signed visitor token or null>, "jwt": <vendor JWT or null>,
               "since": <last message number this tab has, 0 on a fresh page>,
               "page_url": ..., "timezone": "Europe/Paris"}
    server -> {"type": "welcome", "visitor": <token to keep>, "user": {"email", "name"} | null,
               "history": [msg...], "typing": bool, "max_chars": 1000}
    client -> {"type": "message", "id": <client message id>, "text": "...", "payload": "/affirm"?}
    server -> {"type": "msg", "seq": 42, "from": "user"|"bot"|"agent", "ts": ..., "text": ...,
               "buttons": [...]?, "cid": <the client id, on user messages>}   (to every tab)
              {"type": "ack", "id": ..., "dup": true}      a resend of a message already taken
              {"type": "typing", "on": true|false}   around every message's turn, whoever
                                                      answers it (Rasa, a rating comment, a rep)
              {"type": "error", "code": ..., "message": <for the person>, "id": ...?}
    client -> {"type": "ping"}  server -> {"type": "pong"}
    client -> {"type": "rate", "offer": ..., "value": ...}   a rating tap (rating.py)

Close codes: 4001 sign-in refused, 4003 origin not allowed, 4008 no/invalid hello, 4029 too many
connections from this address. The widget reconnects after anything but 4001 and 4003.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketState

from bot.nlu.cards import REMOVED, TOKEN, redact
from bot.nlu.text_hygiene import clean
from bot.telemetry import request_ids

from .. import metrics
from ..config import GatewaySettings
from ..rasa import NO_TEXT, TurnMetadata
from ..state import GatewayState
from . import rating
from .history import Row
from .hub import Hub, Turn
from .identity import EXPIRED, Jwts, TokenRefused, VisitorIds, Who
from .limits import RateLimiter, storage_for, wait_text

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

MAX_SEQ = 2**53 - 1  # the largest integer the widget's JavaScript holds exactly
CLOSE_AUTH, CLOSE_ORIGIN, CLOSE_HELLO, CLOSE_BUSY = 4001, 4003, 4008, 4029

ORIGIN_REFUSED = "This website isn't allowed to use the chat. (The site owner can add it to WIDGET_ALLOWED_ORIGINS.)"
NOT_TAKEN = "I couldn't take that message just now, so nothing happened. Please send it again in a moment."
TOO_MANY_CONNECTIONS = "Too many chat connections from your network. Please wait a minute and try again."


def origin_of(url: str) -> str:
    """scheme://host[:port] in lower case, without a default port; "" if it isn't http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


class Origins:
    def __init__(self, settings: GatewaySettings) -> None:
        listed = [o.strip() for o in settings.widget_allowed_origins.split(",") if o.strip()]
        self.any = "*" in listed
        own = origin_of(settings.gateway_public_url)
        self.allowed = {origin_of(o) for o in listed if o != "*"} | {own}
        # On a laptop the demo page is opened as localhost or 127.0.0.1 alike: both are this machine.
        loopback = re.match(r"^(https?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$", own)
        if loopback:
            scheme, _, port = loopback.groups()
            self.allowed |= {f"{scheme}://{host}{port or ''}" for host in ("127.0.0.1", "localhost", "[::1]")}
        self.allowed.discard("")

    def allows(self, origin: str | None) -> bool:
        if self.any:
            return True
        return origin is not None and origin_of(origin) in self.allowed


class Connection:
    """One open widget socket. Stored messages reach it through ``deliver`` (at most once each,
    in order); until the welcome is sent they wait, so history and live messages never cross."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.last_seq = 0
        self.welcomed = False
        self._waiting: list[Row] = []
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        if not self.welcomed and message.get("type") != "welcome":
            return  # typing and the like: the welcome says the current state
        async with self._send_lock:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                await self.websocket.send_text(json.dumps(message, ensure_ascii=False))

    async def deliver(self, row: Row) -> None:
        if not self.welcomed:
            self._waiting.append(row)
            return
        if row.id > self.last_seq:
            self.last_seq = row.id
            await self.send(row.wire())

    async def welcome(self, message: dict[str, Any], history: list[Row]) -> None:
        self.last_seq = max([self.last_seq, *(r.id for r in history)])
        await self.send({**message, "history": [r.wire() for r in history]})
        self.welcomed = True
        waiting, self._waiting = sorted(self._waiting, key=lambda r: r.id), []
        for row in waiting:
            await self.deliver(row)

    async def error(self, code: str, message: str, **extra: Any) -> None:
        async with self._send_lock:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                await self.websocket.send_text(json.dumps({"type": "error", "code": code, "message": message, **extra}))


def _page_url(value: object) -> str | None:
    """The page the widget is on (it reaches Rasa's tracker and a handoff's summary): a card
    number in its query string is redacted like typed text."""
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 1_000:
        return redact(value)[0]
    return None


def _timezone(value: object) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        return None
    return value


async def _text_frame(websocket: WebSocket) -> str:
    """The next frame's text; a binary frame reads as "" (which is answered as unreadable)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    return text if isinstance(text, str) else ""


class WidgetSocket:
    """The endpoint: checks, identity, and the receive loop of one connection."""

    def __init__(
        self, settings: GatewaySettings, hub: Hub, state: GatewayState, visitors: VisitorIds, jwts: Jwts
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.state = state
        self.visitors = visitors
        self.jwts = jwts
        self.origins = Origins(settings)
        # shared by the replicas through Redis when there is one (limits.py)
        limits = storage_for(
            settings.gateway_redis_url,
            prefix=settings.gateway_redis_prefix,
            username=settings.gateway_redis_username,
            password=settings.gateway_redis_password,
            timeout_s=settings.gateway_redis_timeout_s,
        )
        timeout = settings.gateway_redis_timeout_s
        self.per_visitor = RateLimiter(limits, "visitor", settings.widget_rate_per_visitor, timeout_s=timeout)
        self.per_ip = RateLimiter(limits, "address", settings.widget_rate_per_ip, timeout_s=timeout)
        self.connects = RateLimiter(limits, "connect", settings.widget_connects_per_ip, timeout_s=timeout)
        self.max_chars = settings.widget_max_message_chars
        self.max_frame = 4_096 + 8 * self.max_chars

    def too_long(self, length: int) -> str:
        return (
            f"That message is too long ({length:,} characters); the limit is {self.max_chars:,}. "
            "Please shorten it or send it in parts."
        )

    async def __call__(self, websocket: WebSocket) -> None:
        metrics.WIDGET_CONNECTIONS_OPENED.inc()
        metrics.WIDGET_CONNECTIONS.inc()
        try:
            await self._serve(websocket)
        finally:
            metrics.WIDGET_CONNECTIONS.dec()

    async def _serve(self, websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        # The client's address: the TCP peer, or X-Forwarded-For when the peer is the load balancer
        # the gateway trusts (FORWARDED_ALLOW_IPS, bot/gateway/__main__.py), which sets it on every request.
        ip = websocket.client.host if websocket.client else "unknown"
        await websocket.accept()
        conn = Connection(websocket)
        if not self.origins.allows(origin):
            log.info("widget: origin %r refused", origin)
            await conn.error("origin", ORIGIN_REFUSED)
            await websocket.close(CLOSE_ORIGIN)
            return
        if (wait := await self.connects.hit(ip)) > 0:
            await conn.error("rate_limited", TOO_MANY_CONNECTIONS, retry_after=round(wait, 1))
            await websocket.close(CLOSE_BUSY)
            return
        try:
            hello = await asyncio.wait_for(self._receive(websocket), HELLO_TIMEOUT_S)
        except (asyncio.TimeoutError, WebSocketDisconnect, ValueError):
            if websocket.application_state == WebSocketState.CONNECTED:
                await conn.error("hello", "The chat could not start. Please reload the page.")
                await websocket.close(CLOSE_HELLO)
            return
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await conn.error("hello", "The chat could not start. Please reload the page.")
            await websocket.close(CLOSE_HELLO)
            return
        try:
            who = self._who(hello)
        except TokenRefused as refused:
            log.info("widget: JWT refused (%s) from %s", refused.code, ip)
            await conn.error("auth", str(refused), reason=refused.code)
            await websocket.close(CLOSE_AUTH)
            return
        metadata: TurnMetadata = {"channel": "widget"}
        if (identity := who.identity()) is not None:  # a signed-in customer
            metadata["identity"] = identity
        if page := _page_url(hello.get("page_url")):
            metadata["page_url"] = page
        if tz := _timezone(hello.get("timezone")):
            metadata["timezone"] = tz
        since = hello.get("since")
        # A number the database can hold (found by the fuzz test: 2**70 overflowed SQLite's INTEGER).
        conn.last_seq = since if isinstance(since, int) and 0 <= since <= MAX_SEQ else 0
        conv = self.hub.join(who.sender, conn)
        try:
            history = await self.hub.history.after(who.sender, conn.last_seq)
            await conn.welcome(
                {
                    "type": "welcome",
                    "visitor": who.visitor_token,
                    "user": {"email": who.email, "name": who.name} if who.known else None,
                    "typing": conv.typing,
                    "max_chars": self.max_chars,
                },
                history,
            )
            while True:
                try:
                    raw = await _text_frame(websocket)
                except (WebSocketDisconnect, RuntimeError):
                    return
                if self.jwts.expired(who):
                    await conn.error("auth", EXPIRED, reason="expired")
                    await websocket.close(CLOSE_AUTH)
                    return
                # One request id per message: the socket is one long request (request_context.py)
                bound = request_ids.bind(request_ids.new())
                try:
                    await self._message(conn, who, ip, raw, metadata)
                finally:
                    request_ids.unbind(bound)
        except WebSocketDisconnect:
            return
        finally:
            self.hub.leave(who.sender, conn)

    async def _receive(self, websocket: WebSocket) -> object:
        raw = await _text_frame(websocket)
        if len(raw) > 16_384:
            raise ValueError("hello too large")
        return json.loads(raw)

    def _who(self, hello: dict[str, Any]) -> Who:
        token = hello.get("jwt")
        if token:
            email, name, expires = self.jwts.verify_claims(token)
            return Who(sender=self.visitors.user_sender(email), email=email, name=name, expires=expires)
        return self.visitors.visitor(hello.get("visitor"))

    async def _rate(self, conn: Connection, who: Who, ip: str, data: dict[str, Any]) -> None:
        for limiter, key in ((self.per_visitor, who.sender), (self.per_ip, ip)):
            if (wait := await limiter.hit(key)) > 0:
                await conn.error("rate_limited", f"Please wait {wait_text(wait)} and try again.")
                return
        if self.hub.ratings is None:
            await conn.error("rating", "Ratings are not available here.")
            return
        try:
            refused = await rating.rate(self.hub, self.hub.ratings, who.sender, data.get("offer"), data.get("value"))
        except SQLAlchemyError:
            log.exception("widget: could not record a rating for %s", who.sender)
            await conn.error("unavailable", "I couldn't record that rating just now. Please try again in a minute.")
            return
        if refused is not None:
            await conn.error("rating", refused)

    async def _message(self, conn: Connection, who: Who, ip: str, raw: str, metadata: TurnMetadata) -> None:
        try:
            data = json.loads(raw) if len(raw) <= self.max_frame else None
        except ValueError:
            data = None
        if data is None and len(raw) > self.max_frame:
            cid = re.search(r'"id"\s*:\s*"([A-Za-z0-9_-]{8,64})"', raw[:2_000])
            await conn.error("too_long", self.too_long(len(raw)), **({"id": cid.group(1)} if cid else {}))
            return
        if not isinstance(data, dict):
            await conn.error("bad_request", "The chat sent something I couldn't read. Please reload the page.")
            return
        kind = data.get("type")
        if kind == "ping":
            await conn.send({"type": "pong"})
            return
        if kind == "rate":
            await self._rate(conn, who, ip, data)
            return
        if kind != "message":
            await conn.error("bad_request", f"Unknown message type {str(kind)[:20]!r}.")
            return
        cid, text, payload = data.get("id"), data.get("text"), data.get("payload")
        if not isinstance(cid, str) or not CLIENT_ID.match(cid):
            await conn.error("bad_request", "A message needs an id (8 to 64 letters, digits, - or _).")
            return
        # Cleaned before anything reads it (bot.nlu.text_hygiene): nothing left, nothing sent.
        text = clean(text) if isinstance(text, str) else ""
        if not text:
            await conn.error("empty", NO_TEXT, id=cid)
            return
        if len(text) > self.max_chars:
            await conn.error("too_long", self.too_long(len(text)), id=cid)
            return
        if isinstance(payload, str):
            payload = clean(payload)
        if payload is not None and (not isinstance(payload, str) or not payload or len(payload) > 1_000):
            await conn.error("bad_request", "That button can't be used any more. Please type your answer.", id=cid)
            return
        for limiter, key in ((self.per_visitor, who.sender), (self.per_ip, ip)):
            if (wait := await limiter.hit(key)) > 0:
                await conn.error(
                    "rate_limited",
                    f"You're sending messages faster than I can read them. Please wait "
                    f"{wait_text(wait)} and send it again.",
                    id=cid,
                    retry_after=round(wait, 1),
                )
                return
        conv = self.hub.conversation(who.sender)
        async with conv.lock:
            try:
                redacted, cards = redact(text)
                shown = redacted.replace(TOKEN, REMOVED) if cards else redacted
                # Taken once, whichever replica a resend reaches; stored in the same transaction, so a
                # message that could not be stored is taken when the widget sends it again.
                stored = await self.state.first_time_then(
                    f"widget:{who.sender}:{cid}",
                    lambda db: self.hub.history.append_in(db, who.sender, [("user", {"text": shown, "cid": cid})]),
                )
                if stored is None:
                    await conn.send({"type": "ack", "id": cid, "dup": True})
                    return
                rows = stored
            except SQLAlchemyError:
                log.exception("widget: could not take a message for %s", who.sender)
                await conn.error("unavailable", NOT_TAKEN, id=cid)
                return
            # Before the turn starts, so it comes first everywhere (on the other replicas, with its dots).
            await self.hub.publish(who.sender, rows, with_typing=conv.idle)
            turn_meta: TurnMetadata = {**metadata}
            if (rid := request_ids.current()) is not None:  # the turn runs in the hub's worker
                turn_meta["request_id"] = rid
            if cards:
                turn_meta["card_number_redacted"] = True
            self.hub.enqueue(conv, Turn(text=redact(payload)[0] if payload else redacted, metadata=turn_meta))
