"""The conversations this Rasa process saved last, kept in memory so that their next turn need not
read and replay the whole session from the database.

Rasa reads the latest session of a conversation at the start of every turn: every event's JSON
parsed, turned into an event object and replayed onto a new tracker, and RulePolicy's state history
rebuilt from nothing (bot/rasa_server/patches/prior_states.py keeps it on the tracker object). That
grows with the session: at the 500th message of one it was most of a turn's CPU (`make bench`'s
``growth``). The tracker a turn saved is exactly what the next turn would read back, so the store
keeps it and hands it out again when the database shows that nothing happened to the conversation
since.

When a kept tracker is used, and why that is safe:
- It is kept only after its events were written, and only when the latest session stored then holds
  exactly as many events as the tracker (a turn that started a new session holds two sessions, and
  one whose events an erasure dropped holds events that are not stored: neither is kept).
- It is handed out at most once (taken out of the cache), so a turn that fails half-way, its tracker
  changed but not saved, leaves nothing behind: the next turn reads the database.
- It is handed out only when the newest stored event of the conversation is still the one written
  with it. Another process's turn (a second Rasa replica), an erasure or any other write changes
  that; the retention job deletes ended sessions only, never the latest one, which is all a kept
  tracker holds. A conversation's turns are serialised by Rasa's lock store, so no turn of the same
  conversation runs while its tracker is kept.
- The cache is bounded by events held (``RASA_TRACKER_CACHE_EVENTS``), least recently saved out
  first; 0 turns it off.

Test: tests/rasa_env/test_session_cache.py runs conversations through both of our tracker stores,
each turn's kept tracker against a fresh read of the database, and each case that must not be kept.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings_check import events_bound

DEFAULT_EVENTS = 20_000  # 3.5 KB an event held (tracker, kept states, JSON texts): 70 MB; 500 to 1,000 conversations


@dataclass(frozen=True)
class _Kept:
    tracker: Any  # DialogueStateTracker
    newest_id: int
    events: int
    domain: Any  # the domain it was built with: a model loaded since makes it stale


class SessionCache:
    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._events = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SessionCache:
        return cls(events_bound("RASA_TRACKER_CACHE_EVENTS", DEFAULT_EVENTS, environ))

    def __len__(self) -> int:
        return len(self._kept)

    def take(self, sender_id: str, domain: Any) -> tuple[Any, int] | None:
        """The tracker kept for this conversation under this domain and the id of the newest event
        written with it, removed from the cache (so it is handed out once)."""
        kept = self._kept.pop(sender_id, None)
        if kept is None:
            return None
        self._events -= kept.events
        return (kept.tracker, kept.newest_id) if kept.domain is domain else None

    def keep(self, sender_id: str, tracker: Any, newest_id: int, domain: Any) -> None:
        self.take(sender_id, domain)
        events = len(tracker.events)
        if events > self.max_events:
            return
        self._kept[sender_id] = _Kept(tracker, newest_id, events, domain)
        self._events += events
        while self._events > self.max_events:
            _, oldest = self._kept.popitem(last=False)
            self._events -= oldest.events
