"""Is a signed Slack request shaped the way Slack shapes them? Checked before bolt sees it.

Bolt reads fields of the payload before any listener runs (who sent it, which team, which
action) and assumes Slack's shapes: ``"event": null``, a numeric ``action_id`` or an ``actions``
that is a string make it fail with a 500 (found by tests/e2e/test_fuzz.py). Slack never sends
such payloads, so they are refused with a 400 here, with the reason logged."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

# Keys whose value, wherever they appear in the objects bolt reads, must be text (or null).
TEXT = {
    "type",
    "subtype",
    "user_id",
    "team_id",
    "enterprise_id",
    "channel_id",
    "api_app_id",
    "trigger_id",
    "command",
    "event_id",
    "callback_id",
    "action_id",
    "block_id",
    "ts",
    "thread_ts",
    "event_ts",
    "channel_type",
    "bot_id",
    "tab",
    "message_ts",
}
# An id as text, or an object carrying one ({"id": "U123"}), or null.
IDS = {"user", "team", "enterprise", "channel"}
# Nested objects bolt looks into; and lists of objects.
OBJECTS = {"event", "message", "previous_message", "view", "container"}
LISTS = {"actions", "authorizations"}
MAX_DEPTH = 6
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def payload_of(body: bytes, content_type: str | None) -> Any:
    """The payload as bolt will parse it (slack_bolt.request.internals.parse_body); raises ValueError."""
    text = body.decode("utf-8")  # the signature check decoded it already
    if not text:
        return {}
    if (content_type or "").split(";")[0].strip() == "application/json" or text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:
        return json.loads(fields["payload"]) if "payload" in fields else {}
    return fields


def problem(body: bytes, content_type: str | None) -> str | None:
    """Why this request is not shaped like Slack's, or None when it is."""
    try:
        payload = payload_of(body, content_type)
    except (ValueError, RecursionError) as error:
        return f"unreadable payload ({type(error).__name__})"
    if not isinstance(payload, dict):
        return "the payload is not an object"
    if _has_lone_surrogate(payload, 0):  # JSON can escape one ("\\ud800"); Slack's text never holds one
        return "text with a lone surrogate"
    return _check(payload, "payload", 0)


def _has_lone_surrogate(value: Any, depth: int) -> bool:
    if isinstance(value, str):
        return _LONE_SURROGATE.search(value) is not None
    if depth > 20:
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k, depth) or _has_lone_surrogate(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v, depth + 1) for v in value)
    return False


def _check(obj: dict[str, Any], where: str, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return None
    for key, value in obj.items():
        at = f"{where}.{key}"
        if key in TEXT and value is not None and not isinstance(value, str):
            return f"{at} is not text"
        if key in IDS and value is not None and not isinstance(value, str):
            if not isinstance(value, dict) or not isinstance(value.get("id", ""), (str, type(None))):
                return f"{at} is neither an id nor an object with one"
        if key in OBJECTS:
            if not isinstance(value, dict):
                return f"{at} is not an object"
            if found := _check(value, at, depth + 1):
                return found
        if key in LISTS:
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                return f"{at} is not a list of objects"
            for i, item in enumerate(value):
                if key == "actions" and not isinstance(item.get("action_id"), str):
                    return f"{at}[{i}].action_id is missing"
                if found := _check(item, f"{at}[{i}]", depth + 1):
                    return found
    return None
