"""Who is talking, as verified by the gateway, and through which channel.

The gateway puts the verified identity into the message metadata; Rasa stores it with each user
event. Nothing the user types can change it: a user typing `/add_licenses{"quantity": 500}`
still acts as themselves.

    metadata = {"identity": {"email": "alex@acme.example", "name": "Alex Rivera", "slack_team": "T0001"},
                "channel": "slack", ...channel-specific keys (team, thread, page_url)...}

A Slack identity names the Slack team the gateway verified it in (``slack_team``); billing acts
for it only when that workspace is linked to the user's org, so it travels to every billing call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker

CHANNELS = ("slack", "widget", "shell", "api", "test")


@dataclass(frozen=True)
class Identity:
    email: str | None  # None: an anonymous visitor
    name: str | None
    channel: str
    metadata: dict[str, Any]
    slack_team: str | None = None  # the Slack team a Slack identity was verified in

    @property
    def known(self) -> bool:
        return self.email is not None


def latest_metadata(tracker: Tracker) -> dict[str, Any]:
    """The metadata of the most recent user message that carried any."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("metadata"):
            return dict(event["metadata"])
    return {}


def identity(tracker: Tracker) -> Identity:
    meta = latest_metadata(tracker)
    who = meta.get("identity") or {}
    email = who.get("email") if isinstance(who, dict) else None
    email = email.strip().lower() if isinstance(email, str) and "@" in email else None
    channel = str(meta["channel"]) if meta.get("channel") in CHANNELS else "api"
    name = who.get("name") if isinstance(who, dict) and isinstance(who.get("name"), str) else None
    team = who.get("slack_team") if isinstance(who, dict) else None
    return Identity(email, name, channel, meta, team if isinstance(team, str) and team else None)
