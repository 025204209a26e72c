"""A small asyncio client of the widget's WebSocket (bot/gateway/widget/ws.py has the protocol),
for tests that talk to a running gateway the way the widget does."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import jwt
from websockets.asyncio.client import ClientConnection, connect

# The gateway's development defaults (bot/gateway/config.py).
JWT_SECRET = "dev-widget-jwt-secret-change-me-32b"
JWT_AUDIENCE, JWT_ISSUER = "account-assistant", "https://vendor.example"


def signed_in(email: str, ttl_s: int = 3600, secret: str = JWT_SECRET) -> str:
    """A JWT the way the vendor's site would sign it for a logged-in customer."""
    return jwt.encode(
        {"email": email, "aud": JWT_AUDIENCE, "iss": JWT_ISSUER, "exp": int(time.time()) + ttl_s},
        secret,
        algorithm="HS256",
    )


class WidgetClient:
    """One widget tab. ``say`` sends a message and returns the bot's reply texts for it."""

    def __init__(self, gateway_url: str, token: str | None = None, turn_timeout: float = 60.0) -> None:
        self.url = gateway_url.replace("http://", "ws://", 1).rstrip("/") + "/widget/ws"
        self.origin = gateway_url.rstrip("/")
        self.token = token
        self.turn_timeout = turn_timeout
        self.ws: ClientConnection | None = None
        self.welcome: dict[str, Any] = {}
        self.buttons: list[dict[str, str]] = []
        # the last turn: the bot's (or rep's) message frames, whether the gateway took the message
        # (its echo came back), and the error frame that ended it, if one did
        self.frames: list[dict[str, Any]] = []
        self.echoed = False
        self.error: dict[str, Any] | None = None

    async def __aenter__(self) -> WidgetClient:
        self.ws = await connect(
            self.url, origin=self.origin, open_timeout=20, max_size=2**20, compression=None, proxy=None
        )
        await self.ws.send(json.dumps({"type": "hello", "visitor": None, "jwt": self.token, "since": 0}))
        self.welcome = await self.next_frame()
        if self.welcome.get("type") != "welcome":
            raise AssertionError(f"no welcome: {self.welcome}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def next_frame(self, timeout: float | None = None) -> dict[str, Any]:
        assert self.ws is not None
        raw = await asyncio.wait_for(self.ws.recv(), timeout or self.turn_timeout)
        return json.loads(raw)

    async def send(self, text: str, payload: str | None = None, cid: str | None = None) -> str:
        assert self.ws is not None
        cid = cid or uuid.uuid4().hex
        await self.ws.send(
            json.dumps({"type": "message", "id": cid, "text": text, **({"payload": payload} if payload else {})})
        )
        return cid

    async def say(self, text: str, payload: str | None = None) -> list[str]:
        """The texts the bot (or an error) answered to this message, once its turn is over."""
        cid = await self.send(text, payload)
        return await self.replies_to(cid)

    async def replies_to(self, cid: str) -> list[str]:
        self.buttons, self.frames, self.echoed, self.error = [], [], False, None
        deadline = time.monotonic() + self.turn_timeout
        while True:
            frame = await self.next_frame(max(0.1, deadline - time.monotonic()))
            kind = frame.get("type")
            if kind == "error" and frame.get("id") in (cid, None):
                self.error = frame
                return [f"[error {frame.get('code')}] {frame.get('message')}"]
            if kind == "ack" and frame.get("id") == cid:
                return ["[dup]"]
            if kind == "msg" and frame.get("from") == "user" and frame.get("cid") == cid:
                self.echoed = True
            elif kind == "msg" and self.echoed and frame.get("from") in ("bot", "agent"):
                self.frames.append(frame)
                if frame.get("buttons"):
                    self.buttons = frame["buttons"]
            elif kind == "typing" and self.echoed and frame.get("on") is False:
                return [f.get("text") or "" for f in self.frames]

    async def press(self, title: str) -> list[str]:
        for button in self.buttons:
            if title.lower() in button["title"].lower():
                return await self.say(button["title"], payload=button["payload"])
        raise AssertionError(f"no button {title!r} in {self.buttons}")
