"""Requests signed the way Slack signs them, sent to a gateway's /slack/events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from .api import next_ts

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

    def post(
        self, body: bytes, content_type: str, headers: dict[str, str] | None = None, timestamp: int | None = None
    ) -> httpx.Response:
        signed = {"content-type": content_type, **sign(self.secret, body, timestamp), **(headers or {})}
        return self.client.post(self.url, content=body, headers=signed)

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> bytes:
        return json.dumps(
            {
                "token": "legacy",
                "team_id": self.team,
                "api_app_id": self.api_app,
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": self.team, "user_id": "UBOT", "is_bot": True}],
            }
        ).encode()

    def event(self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None) -> httpx.Response:
        """Send an event; ``retry`` n: Slack's n-th redelivery (a new request, signed at a later time)."""
        headers = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"} if retry else None
        timestamp = int(time.time()) + retry if retry else None
        return self.post(self.event_body(event, event_id), "application/json", headers, timestamp)

    def dm(self, user: str, text: str, ts: str | None = None, **more: Any) -> dict[str, Any]:
        """A message.im event (not sent: pass it to ``event``)."""
        return {
            "type": "message",
            "channel": f"D{user}",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": ts or new_ts(),
            "team": self.team,
            **more,
        }

    def mention(
        self, user: str, text: str, channel: str = "CGENERAL", ts: str | None = None, kind: str = "app_mention"
    ) -> dict[str, Any]:
        event = {
            "type": kind,
            "channel": channel,
            "user": user,
            "text": f"<@UBOT> {text}",
            "ts": ts or new_ts(),
            "team": self.team,
        }
        if kind == "message":
            event["channel_type"] = "channel"
        return event

    def click(self, user: str, channel: str, message: dict[str, Any], title: str) -> httpx.Response:
        """Press the button titled ``title`` on a posted message (a chat.postMessage call's args)."""
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("type") == "button" and element["text"]["text"] == title:
                    action = {
                        "action_id": element["action_id"],
                        "block_id": block.get("block_id"),
                        "text": element["text"],
                        "value": element.get("value"),
                        "type": "button",
                        "action_ts": f"{time.time():.6f}",
                    }
                    return self.interaction(user, channel, message, action)
        raise AssertionError(f"no button {title!r} in {message.get('text', '')[:200]!r}")

    def interaction(self, user: str, channel: str, message: dict[str, Any], action: dict[str, Any]) -> httpx.Response:
        ts = message.get("ts") or ""
        payload = {
            "type": "block_actions",
            "team": {"id": self.team},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": self.api_app,
            "token": "legacy",
            "trigger_id": f"trig.{uuid.uuid4().hex}",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "channel": {"id": channel},
            "message": {
                "ts": ts,
                "text": message.get("text"),
                "blocks": message.get("blocks") or [],
                **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
            },
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")

    def home_click(self, user: str, action_id: str, title: str, value: str) -> httpx.Response:
        payload = {
            "type": "block_actions",
            "team": {"id": self.team},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": self.api_app,
            "token": "legacy",
            "trigger_id": f"trig.{uuid.uuid4().hex}",
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home"},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "home_actions",
                    "value": value,
                    "type": "button",
                    "text": {"type": "plain_text", "text": title},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")

    def command(self, user: str, text: str, command: str = "/account", channel: str = "CGENERAL") -> httpx.Response:
        body = urlencode(
            {
                "token": "legacy",
                "team_id": self.team,
                "team_domain": "acme",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user,
                "command": command,
                "text": text,
                "api_app_id": self.api_app,
                "response_url": "https://hooks.slack.example/commands/1",
                "trigger_id": f"trig.{uuid.uuid4().hex}",
            }
        ).encode()
        return self.post(body, "application/x-www-form-urlencoded")


def new_ts() -> str:
    """A fresh message ts, from the same sequence as the mock's own posts (never a duplicate)."""
    return next_ts()
