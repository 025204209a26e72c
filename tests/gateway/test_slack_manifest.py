"""The Slack app manifest asks for exactly what the gateway's listeners and Web API calls need.

The Slack mock accepts any event, so a missing subscription or scope only shows with real Slack:
the handoff bridge's thread replies (and a rep typing `close`) arrive as `message.channels` /
`message.groups` events, which need `channels:history` / `groups:history`; without them a rep's
reply never reaches the customer. Here the gateway is built as it runs (every channel mounted),
its bolt registrations are recorded, the Web API methods its code calls are found in the source,
and both are mapped to events and scopes by Slack's documentation (the tables below; a method or
event missing from them fails the test until someone looks it up).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.gateway.app import create_app
from bot.gateway.config import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "bot/gateway/slack/manifest.yml").read_text())

# Slack's Events API reference (api.slack.com/events): the event each listener hears -> the bot
# events to subscribe to, and each event's required scope.
LISTENED = {
    "message": {"message.im"},  # DMs; channel threads are added when the handoff bridge taps them
    "app_mention": {"app_mention"},
    "app_home_opened": {"app_home_opened"},
    "app_uninstalled": {"app_uninstalled"},
    "tokens_revoked": {"tokens_revoked"},
}
THREADS = {"message.channels", "message.groups"}  # a rep's replies in a queue's public or private channel
EVENT_SCOPES = {
    "message.im": {"im:history"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "app_mention": {"app_mentions:read"},
    "app_home_opened": set(),
    "app_uninstalled": set(),
    "tokens_revoked": set(),
}
# Slack's Web API reference (api.slack.com/methods): each method the gateway calls -> its bot scopes.
METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "conversations_open": {"im:write"},
    "reactions_add": {"reactions:write"},
    "reactions_remove": {"reactions:write"},
    # users.info needs users:read; its profile.email field needs users:read.email too, and the gateway
    # acts as the user with that (confirmed) email
    "users_info": {"users:read", "users:read.email"},
    "views_publish": set(),
    "auth_test": set(),
    "oauth_v2_access": set(),
}
WEB_API_METHODS = {
    name
    for name in dir(AsyncWebClient)
    if re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*_[a-zA-Z0-9]+", name) and callable(getattr(AsyncWebClient, name))
}


def _registrations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[dict[str, set[str]], object]:
    """What the running gateway registers with bolt: {"event": names, "command": ..., "action": ...}."""
    seen: dict[str, set[str]] = {"event": set(), "command": set(), "action": set()}
    for kind in seen:
        original = getattr(AsyncApp, kind)

        def recording(self, first, *args, _kind=kind, _original=original, **kwargs):
            seen[_kind].add(first if isinstance(first, str) else getattr(first, "pattern", str(first)))
            return _original(self, first, *args, **kwargs)

        monkeypatch.setattr(AsyncApp, kind, recording)
    settings = GatewaySettings(
        slack_bot_token="xoxb-manifest-test",
        slack_signing_secret="s" * 32,
        gateway_database_url=f"sqlite:///{tmp_path / 'g.sqlite3'}",
    )
    app = create_app(settings)
    return seen, app.state.slack


def _called_methods() -> set[str]:
    """Web API methods named anywhere in the gateway's code (called, or named for a getattr)."""
    source = "\n".join(p.read_text() for p in (ROOT / "bot/gateway").rglob("*.py") if "testing" not in p.parts)
    return {name for name in WEB_API_METHODS if re.search(rf"\b{name}\b", source)}


def test_the_manifest_subscribes_to_the_events_and_asks_the_scopes_the_gateway_needs(monkeypatch, tmp_path):
    seen, slack = _registrations(monkeypatch, tmp_path)
    unknown = seen["event"] - set(LISTENED)
    assert not unknown, f"look these events up in Slack's docs and add them to LISTENED: {unknown}"
    events = set().union(*(LISTENED[name] for name in seen["event"]))
    if slack.taps:  # the handoff bridge reads the queue channels' threads
        events |= THREADS
    called = _called_methods()
    unmapped = called - set(METHOD_SCOPES)
    assert not unmapped, f"look these Web API methods up in Slack's docs and add them to METHOD_SCOPES: {unmapped}"
    scopes = set().union(*(EVENT_SCOPES[e] for e in events), *(METHOD_SCOPES[m] for m in called))
    if seen["command"]:
        scopes.add("commands")

    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == events
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == scopes
    assert {c["command"] for c in MANIFEST["features"]["slash_commands"]} == seen["command"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is bool(seen["action"])
    # what the OAuth install asks for (SLACK_SCOPES) is the manifest's list
    assert set(GatewaySettings().slack_scopes.split(",")) == scopes


def test_the_method_tables_name_real_web_api_methods():
    assert set(METHOD_SCOPES) <= WEB_API_METHODS
