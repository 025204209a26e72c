"""Copy a tracker by copying its state, not by replaying every event of the session.

What: ``DialogueStateTracker.copy`` (Rasa's: a new tracker with every event replayed onto it) builds
the copy as Rasa's ``init_copy`` does, gives it the same events, and copies the state those events
produce: the slots (each copied as ``init_copy`` copies them), whether the conversation is paused,
the follow-up action, the latest action, message and bot message, and the active form. Rasa's
tracker keeps the rule that this state "MUST be re-creatable by processing all the events", and
these are all the attributes events set.
Why: Rasa copies the tracker before each action it runs (the copy is thrown away if the action is
rejected); at the 500th message of a session that replay was a quarter of the Rasa process's CPU
(`make bench`'s ``growth``).
Test: tests/rasa_env/test_rasa_speed_history.py (test_tracker_copies_equal_rasas_replay): the same
state as Rasa's copy after every event of every training conversation, and of undos, restarts and
forms.
"""

from __future__ import annotations

import copy as copying

SPEED = True
# What events set (rasa/shared/core/events.py, ``apply_to``), besides the events and the slots.
STATE = ("_paused", "followup_action", "latest_action", "latest_message", "latest_bot_utterance", "active_loop")


def apply() -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    original = DialogueStateTracker.copy
    if getattr(original, "_by_state", False):
        return

    def copy(self: DialogueStateTracker) -> DialogueStateTracker:
        duplicate = self.init_copy()
        duplicate.events.extend(self.events)
        for name, slot in self.slots.items():
            duplicate.slots[name] = copying.copy(slot)
        for name in STATE:
            value = getattr(self, name)
            setattr(duplicate, name, copying.copy(value) if name in ("latest_action", "active_loop") else value)
        return duplicate

    copy._by_state = True  # type: ignore[attr-defined]
    copy.__wrapped_original__ = original  # type: ignore[attr-defined]
    DialogueStateTracker.copy = copy
