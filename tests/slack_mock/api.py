"""A local mock of Slack's Web API (see the package docstring)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from .socket_mode import SocketModeServer

_ts_lock = threading.Lock()
_last_ts_us = 0


def next_ts() -> str:
    """A message ts like Slack's ("1764255600.123456"): the clock in microseconds, or one more than
    the last one handed out, so every ts this process makes (the mock's posts, the test sender's
    events, across mocks and threads) is unique and later ones sort after earlier ones."""
    global _last_ts_us
    with _ts_lock:
        _last_ts_us = max(time.time_ns() // 1_000, _last_ts_us + 1)
        us = _last_ts_us
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


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

    def __init__(
        self,
        users: dict[str, dict[str, Any]] | None = None,
        team: str = "T0001",
        bot_user: str = "UBOT",
        bot_id: str = "BBOT",
    ) -> None:
        self.team, self.bot_user, self.bot_id = team, bot_user, bot_id
        # What oauth.v2.access answers: the workspace installed and the user who installed it.
        self.install_team, self.installer = team, "UINSTALLER"
        self.users: dict[str, dict[str, Any]] = dict(users or {})  # user id -> {"email", "name", ...}
        self.calls: list[Call] = []
        self.failures: dict[str, list[Failure]] = {}
        self.delays: dict[str, float] = {}
        self.limits: dict[str, tuple[float, int]] = {}  # method -> (429 until, Retry-After)
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
        """``fields``: ``team_id`` (the user's own workspace; default the mock's team, another one
        for a Slack Connect guest), ``confirmed`` (``is_email_confirmed``; default True, None leaves
        the key out as Slack does for some accounts, any other value is answered as given),
        ``is_bot``."""
        self.users[user] = {"email": email, "name": name or user, **fields}

    def fail(self, method: str, **failure: Any) -> None:
        """The next ``times`` calls of ``method`` fail (default: one 429 with Retry-After: 1)."""
        with self._lock:
            self.failures.setdefault(method, []).append(Failure(**failure))

    def rate_limit(self, method: str, seconds: float, retry_after: int = 1) -> None:
        """Answer every call of ``method`` with a 429 (Retry-After) for the next ``seconds``: Slack's
        rate limit on a busy channel or workspace."""
        with self._lock:
            self.limits[method] = (time.monotonic() + seconds, retry_after)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.failures.clear()
            self.delays.clear()
            self.limits.clear()

    # -- reading what happened ------------------------------------------------------------------------

    def called(self, method: str, **match: Any) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 30.0, where: Callable[[Call], bool] | None = None
    ) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times (matching ``where``)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method and (where is None or where(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{method} called {len(found)} times, expected {count}; calls: "
                        f"{[(c.method, c.args.get('text', '')[:80]) for c in self.calls]}"
                    )
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
            return {
                "ok": True,
                "url": "https://acme.slack.example/",
                "team": "Acme",
                "user": "assistant",
                "team_id": self.team,
                "user_id": self.bot_user,
                "bot_id": self.bot_id,
            }
        if method == "users.info":
            found = self.users.get(str(args.get("user")))
            if found is None:
                return {"ok": False, "error": "user_not_found"}
            profile = {"real_name": found.get("name"), "display_name": found.get("name")}
            if found.get("email"):
                profile["email"] = found["email"]
            user = {
                "id": args["user"],
                "team_id": found.get("team_id", self.team),
                "name": found.get("name"),
                "real_name": found.get("name"),
                "is_bot": found.get("is_bot", False),
                "deleted": False,
                "is_email_confirmed": found.get("confirmed", True),
                "profile": profile,
            }
            if user["is_email_confirmed"] is None:
                del user["is_email_confirmed"]
            return {"ok": True, "user": user}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{args.get('users')}"}}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or next_ts()
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts, "blocks": args.get("blocks")},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": next_ts()}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V1", **(args.get("view") or {})}}
        if method == "oauth.v2.access":
            return {
                "ok": True,
                "app_id": "A0001",
                "authed_user": {"id": self.installer},
                "scope": "chat:write",
                "token_type": "bot",
                "access_token": f"xoxb-installed-{args.get('code')}",
                "bot_user_id": self.bot_user,
                "team": {"id": self.install_team, "name": "Acme"},
                "enterprise": None,
                "is_enterprise_install": False,
            }
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
                    until, retry_after = mock.limits.get(method, (0.0, 1))
                    if failure is None and time.monotonic() < until:
                        failure = Failure(status=429, retry_after=retry_after)
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
