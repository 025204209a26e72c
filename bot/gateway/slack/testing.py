"""Slack without slack.com, for tests and offline demos.

- ``SlackMock``: a small real HTTP server on loopback that answers the Web API methods the
  gateway uses (point ``SLACK_API_URL`` at ``mock.api_url``), records every call, and can be told
  to answer a method with a 429 (Retry-After), an HTTP error or ``{"ok": false}``, or slowly.
- ``SlackSender``: signs requests the way Slack does (``v0=HMAC-SHA256(secret, "v0:ts:body")``)
  and sends events, button clicks and slash commands to a gateway's ``/slack/events``.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import httpx


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] | None = None  # what the mock answered (None: a failure)

    @property
    def ts(self) -> str | None:
        """The ts of the message this call posted or updated."""
        return (self.answer or {}).get("ts") or self.args.get("ts")


@dataclass
class Failure:
    status: int = 429
    retry_after: int | None = 1
    error: str | None = None  # {"ok": false, "error": ...} with status 200
    times: int = 1


class SlackMock:
    """Slack's Web API on ``http://127.0.0.1:<port>/api/``."""

    def __init__(self, users: dict[str, dict[str, Any]] | None = None, team: str = "T0001",
                 bot_user: str = "UBOT", bot_id: str = "BBOT") -> None:
        self.team, self.bot_user, self.bot_id = team, bot_user, bot_id
        self.users: dict[str, dict[str, Any]] = dict(users or {})  # user id -> {"email", "name", ...}
        self.calls: list[Call] = []
        self.failures: dict[str, list[Failure]] = {}
        self.delays: dict[str, float] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.socket: SocketModeServer | None = None  # set with enable_socket_mode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> SlackMock:
        self._thread.start()
        return self

    def enable_socket_mode(self) -> SocketModeServer:
        """Answer apps.connections.open with a local WebSocket server's address."""
        self.socket = SocketModeServer().start()
        return self.socket

    def stop(self) -> None:
        if self.socket is not None:
            self.socket.stop()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SlackMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- programming it ------------------------------------------------------------------------------

    def add_user(self, user: str, email: str | None, name: str = "", **fields: Any) -> None:
        self.users[user] = {"email": email, "name": name or user, **fields}

    def fail(self, method: str, **failure: Any) -> None:
        """The next ``times`` calls of ``method`` fail (default: one 429 with Retry-After: 1)."""
        with self._lock:
            self.failures.setdefault(method, []).append(Failure(**failure))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.failures.clear()
            self.delays.clear()

    # -- reading what happened ------------------------------------------------------------------------

    def called(self, method: str, **match: Any) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0,
                 where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times (matching ``where``)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method and (where is None or where(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method} called {len(found)} times, expected {count}; calls: "
                                         f"{[(c.method, c.args.get('text', '')[:80]) for c in self.calls]}")
                self._changed.wait(left)

    def quiet(self, seconds: float = 1.0, timeout: float = 30.0) -> None:
        """Wait until no call came in for ``seconds`` (the gateway has finished what it was doing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= seconds:
                return
            time.sleep(0.1)

    # -- answering -----------------------------------------------------------------------------------

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.example/", "team": "Acme", "user": "assistant",
                    "team_id": self.team, "user_id": self.bot_user, "bot_id": self.bot_id}
        if method == "users.info":
            found = self.users.get(str(args.get("user")))
            if found is None:
                return {"ok": False, "error": "user_not_found"}
            profile = {"real_name": found.get("name"), "display_name": found.get("name")}
            if found.get("email"):
                profile["email"] = found["email"]
            return {"ok": True, "user": {"id": args["user"], "team_id": self.team, "name": found.get("name"),
                                         "real_name": found.get("name"), "is_bot": found.get("is_bot", False),
                                         "deleted": False, "is_email_confirmed": found.get("confirmed", True),
                                         "profile": profile}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{args.get('users')}"}}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{int(time.time())}.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text"), "ts": ts, "blocks": args.get("blocks")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V1", **(args.get("view") or {})}}
        if method == "oauth.v2.access":
            return {"ok": True, "app_id": "A0001", "authed_user": {"id": "UINSTALLER"}, "scope": "chat:write",
                    "token_type": "bot", "access_token": f"xoxb-installed-{args.get('code')}",
                    "bot_user_id": self.bot_user, "team": {"id": self.team, "name": "Acme"}, "enterprise": None,
                    "is_enterprise_install": False}
        if method == "apps.connections.open":
            if self.socket is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.socket.url}
        return {"ok": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _args(self) -> dict[str, Any]:
                url = urlparse(self.path)
                args: dict[str, Any] = dict(parse_qsl(url.query))
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                kind = self.headers.get("content-type", "")
                if raw and "json" in kind:
                    args.update(json.loads(raw))
                elif raw:
                    args.update(dict(parse_qsl(raw.decode())))
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                return args

            def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self) -> None:
                method = urlparse(self.path).path.rsplit("/", 1)[-1]
                args = self._args()
                auth = self.headers.get("authorization", "")
                token = auth.removeprefix("Bearer ") if auth else args.get("token")
                if delay := mock.delays.get(method):
                    time.sleep(delay)
                with mock._changed:
                    queue = mock.failures.get(method) or []
                    failure = queue[0] if queue else None
                    if failure is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            queue.pop(0)
                    answer = mock._answer(method, args) if failure is None else None
                    mock.calls.append(Call(method, args, token, answer=answer))
                    mock._changed.notify_all()
                if failure is not None and failure.error:
                    return self._reply(200, {"ok": False, "error": failure.error})
                if failure is not None:
                    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                    error = "ratelimited" if failure.status == 429 else "internal_error"
                    return self._reply(failure.status, {"ok": False, "error": error}, headers)
                self._reply(200, answer)

            do_GET = do_POST = _serve

        return Handler


class SocketModeServer:
    """Slack's Socket Mode end: a WebSocket server on loopback (its own thread and event loop).
    ``send`` pushes an envelope to the connected app; ``acks`` collects the envelope ids it acked."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._sockets: list[Any] = []
        self._changed = threading.Condition()
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def _run(self, coro: Any, timeout: float = 10.0) -> Any:
        return self._asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> SocketModeServer:
        from aiohttp import web

        async def link(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            self._sockets.append(ws)
            await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                          "connection_info": {"app_id": "A0001"}}))
            self.connected.set()
            async for message in ws:
                if message.type.name == "TEXT":
                    with self._changed:
                        self.acks.append(json.loads(message.data))
                        self._changed.notify_all()
            return ws

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/link", link)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]

        self._thread.start()
        self._run(serve())
        return self

    def send(self, payload: dict[str, Any], kind: str = "events_api") -> str:
        """Push one envelope to the app; its envelope_id."""
        envelope_id = uuid.uuid4().hex
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}

        async def push() -> None:
            for ws in self._sockets:
                if not ws.closed:
                    await ws.send_str(json.dumps(envelope))
        self._run(push())
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for ack in self.acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} not acked; acks: {self.acks}")
                self._changed.wait(left)

    def stop(self) -> None:
        async def close() -> None:
            for ws in self._sockets:
                await ws.close()
            await self._runner.cleanup()
        try:
            self._run(close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


# -- signed requests -----------------------------------------------------------------------------------

def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


@dataclass
class SlackSender:
    """Sends what Slack would send to ``<gateway>/slack/events``, signed with ``secret``."""

    gateway_url: str
    secret: str
    team: str = "T0001"
    api_app: str = "A0001"
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, trust_env=False))

    @property
    def url(self) -> str:
        return self.gateway_url.rstrip("/") + "/slack/events"

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None,
             timestamp: int | None = None) -> httpx.Response:
        signed = {"content-type": content_type, **sign(self.secret, body, timestamp), **(headers or {})}
        return self.client.post(self.url, content=body, headers=signed)

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> bytes:
        return json.dumps({
            "token": "legacy", "team_id": self.team, "api_app_id": self.api_app, "event": event,
            "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()), "authorizations": [{"team_id": self.team, "user_id": "UBOT",
                                                                "is_bot": True}],
        }).encode()

    def event(self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None) -> httpx.Response:
        """Send an event; ``retry`` n: Slack's n-th redelivery (a new request, signed at a later time)."""
        headers = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"} if retry else None
        timestamp = int(time.time()) + retry if retry else None
        return self.post(self.event_body(event, event_id), "application/json", headers, timestamp)

    def dm(self, user: str, text: str, ts: str | None = None, **more: Any) -> dict[str, Any]:
        """A message.im event (not sent: pass it to ``event``)."""
        return {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user, "text": text,
                "ts": ts or new_ts(), "team": self.team, **more}

    def mention(self, user: str, text: str, channel: str = "CGENERAL", ts: str | None = None,
                kind: str = "app_mention") -> dict[str, Any]:
        event = {"type": kind, "channel": channel, "user": user, "text": f"<@UBOT> {text}", "ts": ts or new_ts(),
                 "team": self.team}
        if kind == "message":
            event["channel_type"] = "channel"
        return event

    def click(self, user: str, channel: str, message: dict[str, Any], title: str) -> httpx.Response:
        """Press the button titled ``title`` on a posted message (a chat.postMessage call's args)."""
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("type") == "button" and element["text"]["text"] == title:
                    action = {"action_id": element["action_id"], "block_id": block.get("block_id"),
                              "text": element["text"], "value": element.get("value"), "type": "button",
                              "action_ts": f"{time.time():.6f}"}
                    return self.interaction(user, channel, message, action)
        raise AssertionError(f"no button {title!r} in {message.get('text', '')[:200]!r}")

    def interaction(self, user: str, channel: str, message: dict[str, Any], action: dict[str, Any]) -> httpx.Response:
        ts = message.get("ts") or ""
        payload = {
            "type": "block_actions", "team": {"id": self.team}, "user": {"id": user, "team_id": self.team},
            "api_app_id": self.api_app, "token": "legacy", "trigger_id": f"trig.{uuid.uuid4().hex}",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "channel": {"id": channel}, "message": {"ts": ts, "text": message.get("text"),
                                                   "blocks": message.get("blocks") or [],
                                                   **({"thread_ts": message["thread_ts"]}
                                                      if message.get("thread_ts") else {})},
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")

    def home_click(self, user: str, action_id: str, title: str, value: str) -> httpx.Response:
        payload = {
            "type": "block_actions", "team": {"id": self.team}, "user": {"id": user, "team_id": self.team},
            "api_app_id": self.api_app, "token": "legacy", "trigger_id": f"trig.{uuid.uuid4().hex}",
            "container": {"type": "view", "view_id": "V1"}, "view": {"id": "V1", "type": "home"},
            "actions": [{"action_id": action_id, "block_id": "home_actions", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": title}, "action_ts": f"{time.time():.6f}"}],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")

    def command(self, user: str, text: str, command: str = "/account", channel: str = "CGENERAL") -> httpx.Response:
        body = urlencode({
            "token": "legacy", "team_id": self.team, "team_domain": "acme", "channel_id": channel,
            "channel_name": "general", "user_id": user, "user_name": user, "command": command, "text": text,
            "api_app_id": self.api_app, "response_url": "https://hooks.slack.example/commands/1",
            "trigger_id": f"trig.{uuid.uuid4().hex}",
        }).encode()
        return self.post(body, "application/x-www-form-urlencoded")


_ts_counter = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ts_counter):06d}"
