"""Slack without slack.com, for tests and offline demos.

- ``SlackMock``: a small real HTTP server on loopback that answers the Web API methods the
  gateway uses (point ``SLACK_API_URL`` at ``mock.api_url``), records every call, and can be told
  to answer a method with a 429 (Retry-After), an HTTP error or ``{"ok": false}``, or slowly.
- ``SlackSender``: signs requests the way Slack does (``v0=HMAC-SHA256(secret, "v0:ts:body")``)
  and sends events, button clicks and slash commands to a gateway's ``/slack/events``.
"""

from __future__ import annotations

from .api import Call, Failure, SlackMock
from .signed import SlackSender, new_ts, sign
from .socket_mode import SocketModeServer

__all__ = ["Call", "Failure", "SlackMock", "SlackSender", "SocketModeServer", "new_ts", "sign"]
