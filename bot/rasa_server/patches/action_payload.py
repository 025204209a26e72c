"""Encode each event of a conversation once for the calls to the action server, not on every call.

What: ``RemoteAction._action_call_format`` (the body of a call to the action server: the whole
tracker, every event of the session) keeps the JSON text of each event it has encoded, and of the
session's settled events joined (extended by the events settled since), and puts the body
together from those texts, byte for byte what Rasa sends (``json.dumps`` of Rasa's own dict).
The aiohttp session of bot/rasa_server/patches/endpoint_sessions.py sends that text as it is; the
body's dict holds a placeholder for the events, which nothing else reads (Rasa Pro's plugin hook
would: with a plugin installed, and without ``endpoint_sessions``, Rasa's own code runs). An
event's text is reused only for that very event object, and only once a later customer message
follows it: Rasa changes the latest message during its turn (entities added, featurisation
chosen), never one before it.
Why: Rasa turns every event into a dict and encodes the whole session again for each of a turn's
action calls (three or four of them), and every call gets a new copy of the tracker; at the 500th
message of a session that was a third of the Rasa process's CPU (`make bench`'s ``growth``).
Test: tests/rasa_env/test_rasa_speed_history.py (test_action_calls_send_what_rasa_sends).
"""

from __future__ import annotations

import itertools
import json
import secrets
import weakref
from typing import Any

SPEED = True
_texts: dict[int, tuple[Any, str]] = {}  # id(event) -> (weak reference to it, its JSON text)
# id(a session's first event) -> (weak references to it and to the last joined, how many, their texts joined)
_joined: dict[int, tuple[Any, Any, int, str]] = {}
_PLACE = "\x00events-" + secrets.token_hex(16) + "\x00"  # where the events go; no one can guess it
_PLACE_TEXT = json.dumps(_PLACE)


def _forget(key: int) -> Any:
    return lambda _ref: _texts.pop(key, None)


def _text(event: Any, settled: bool) -> str:
    key = id(event)
    kept = _texts.get(key)
    if kept is not None and kept[0]() is event:
        return kept[1]
    text = json.dumps(event.as_dict())
    if settled:
        _texts[key] = (weakref.ref(event, _forget(key)), text)
    return text


def _settled(events: list[Any], count: int) -> str:
    """The texts of ``events[:count]`` (all settled) joined, extending what was joined for an
    earlier call of the same conversation: a session's events are only ever appended, so the same
    first event and the same event at the end of what was joined mean the same events between."""
    if count <= 0:
        return ""
    first = events[0]
    key = id(first)
    kept = _joined.get(key)
    text, start = "", 0
    if kept is not None and kept[0]() is first and kept[2] <= count and events[kept[2] - 1] is kept[1]():
        text, start = kept[3], kept[2]
    if start < count:
        more = ", ".join(_text(event, True) for event in itertools.islice(events, start, count))
        text = f"{text}, {more}" if text else more
        last = events[count - 1]
        _joined[key] = (weakref.ref(first, _forget_joined(key)), weakref.ref(last), count, text)
    return text


def _forget_joined(key: int) -> Any:
    return lambda _ref: _joined.pop(key, None)


def latest_user(events: list[Any]) -> int:
    """The index of the latest customer message (-1 without one): the events before it are settled."""
    from rasa.shared.core.events import UserUttered

    return next((i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), -1)


def encoded_events(events: list[Any], latest: int, start: int = 0) -> str:
    """``json.dumps([e.as_dict() for e in events[start:]])``, from the texts kept where that is safe;
    ``latest`` is ``latest_user(events)``."""
    if start == 0:
        settled = _settled(events, latest)
    else:
        settled = ", ".join(_text(event, True) for event in itertools.islice(events, start, max(latest, start)))
    rest = [_text(event, False) for event in itertools.islice(events, max(latest, start, 0), None)]
    return "[" + ", ".join([settled, *rest] if settled else rest) + "]"


def apply() -> None:
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.plugin import plugin_manager
    from rasa.shared.core.trackers import EventVerbosity

    from bot.rasa_server.patches import endpoint_sessions, events_kept

    original = RemoteAction._action_call_format
    if getattr(original, "_encoding_once", False):
        return
    if plugin_manager().hook.prefix_stripping_for_custom_actions.get_hookimpls():
        return  # a plugin reads and rewrites the body's dict: leave it Rasa's

    def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        if not endpoint_sessions.applied():
            return original(self, tracker, domain)
        state = tracker.current_state(EventVerbosity.NONE)
        state["events"] = _PLACE
        events = list(tracker.events)
        latest = latest_user(events)
        body = endpoint_sessions.Encoded(
            {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state, "version": rasa.__version__},
            lambda: head.replace(_PLACE_TEXT, encoded_events(events, latest), 1),
        )
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            body["domain"] = domain.as_dict()
        head = json.dumps(body)
        if head.count(_PLACE_TEXT) != 1:
            return original(self, tracker, domain)
        if events_kept.applied():
            # Only the events the action server does not hold yet, when it holds the others.
            body.offer = events_kept.offer(tracker.sender_id, events, latest)
            if body.offer.since is not None:
                body.since_text = head.replace(_PLACE_TEXT, encoded_events(events, latest, body.offer.since.count), 1)
        return body

    _action_call_format._encoding_once = True  # type: ignore[attr-defined]
    _action_call_format.__wrapped_original__ = original  # type: ignore[attr-defined]
    RemoteAction._action_call_format = _action_call_format
