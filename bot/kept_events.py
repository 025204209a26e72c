"""The action server keeps each conversation's events, so that Rasa sends only the new ones.

Rasa sends the action server the whole conversation session on every call: at the 500th message of
a session that is 1.5 MB, parsed, held and freed again for each of a turn's calls, and the action
server's CPU per turn grew fourfold with the session (`make bench`'s ``growth``). So the two keep
what they have already exchanged:

- Rasa asks the action server to keep the settled events of a call (those before the customer's
  latest message, which Rasa never changes again): header ``X-Events-Keep: <token> <count>``, a
  token Rasa draws for that prefix of the conversation.
- The action server answers ``X-Events-Kept: <token>`` once it holds them.
- Rasa's next call for that conversation may then send only the events from ``count`` on, with
  ``X-Events-Since: <token> <count>``; the action server puts the kept ones in front, and the actions
  see the whole session exactly as Rasa would have sent it.
- An action server that no longer holds them (restarted, another replica, the events pushed out by
  newer conversations) answers 409 with ``X-Events-Unknown``, and Rasa sends the call again whole.
  One that does not take part (rasa_sdk's own) never says ``X-Events-Kept``, so it gets whole calls.

Rasa's side is bot/rasa_server/patches/events_kept.py; the action server's is ``KeptEvents`` below,
used by bot/actions/__main__.py. The balancer sends a conversation's calls to the same action server
by ``X-Conversation`` (a hash of the sender id, deploy/haproxy.cfg.template).

Why a token and not a digest of the events: only Rasa knows which events it sent, and a random token
of 128 bits names one prefix of one conversation, checked against the sender id too, without hashing
the session on every call.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings_check import events_bound

SINCE = "X-Events-Since"
KEEP = "X-Events-Keep"
KEPT = "X-Events-Kept"
UNKNOWN = "X-Events-Unknown"
UNKNOWN_STATUS = 409
CONVERSATION = "X-Conversation"

# About 3 KB of Python objects an event (a message's parse data, its ranking): 60 MB; at the
# 500th message a session holds some 2,000 events, a short one 20 to 40.
DEFAULT_EVENTS = 20_000
MAX_COUNT = 10_000_000
_VALUE = re.compile(r"([A-Za-z0-9_-]{16,64}) ([0-9]{1,8})")


@dataclass(frozen=True)
class Mark:
    """A prefix of a conversation's events: its first ``count``, named by ``token``."""

    token: str
    count: int

    def header(self) -> str:
        return f"{self.token} {self.count}"

    @classmethod
    def parse(cls, value: str | None) -> Mark | None:
        """The mark a header names; None when absent or malformed."""
        found = _VALUE.fullmatch(value.strip()) if value else None
        if found is None or int(found.group(2)) > MAX_COUNT:
            return None
        return cls(found.group(1), int(found.group(2)))


class Unknown(Exception):
    """The events a call builds on are not kept here."""


@dataclass
class _Kept:
    token: str
    events: list[Any]


class KeptEvents:
    """The settled events of the conversations called for lately, least recently used out first,
    bounded by the events held; ``max_events`` 0 keeps none (every call is then whole)."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._events = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> KeptEvents:
        return cls(events_bound("ACTIONS_KEPT_EVENTS", DEFAULT_EVENTS, environ))

    @property
    def events_held(self) -> int:
        return self._events

    def complete(self, sender: str, events: list[Any], since: Mark | None, keep: Mark | None) -> tuple[list[Any], bool]:
        """The call's whole events and whether ``keep`` was kept.

        ``events`` are those Rasa sent: the whole session, or with ``since`` those after the kept
        prefix that ``since`` names (Unknown when this server does not hold it). With ``keep``, the
        first ``keep.count`` of the whole are kept for the conversation's next call."""
        if since is not None:
            kept = self._kept.get(sender)
            if kept is None or kept.token != since.token or len(kept.events) != since.count:
                raise Unknown(sender)
            events = kept.events + events
        if keep is None or self.max_events <= 0 or not 0 < keep.count <= len(events):
            return events, False
        if keep.count > self.max_events:
            self._drop(sender)
            return events, False
        current = self._kept.get(sender)
        if current is not None and current.token == keep.token and len(current.events) == keep.count:
            self._kept.move_to_end(sender)
            return events, True
        self._drop(sender)
        # A list of its own: the actions get ``events``, which rasa_sdk may append to.
        self._kept[sender] = _Kept(keep.token, events[: keep.count])
        self._events += keep.count
        while self._events > self.max_events:
            self._drop(next(iter(self._kept)))
        return events, True

    def _drop(self, sender: str) -> None:
        gone = self._kept.pop(sender, None)
        if gone is not None:
            self._events -= len(gone.events)
