"""Extend a tracker's applied events with its new events instead of working them out again.

What: ``DialogueStateTracker.applied_events`` (the session's events without those an undo, a
restart or a form's loop step took back) keeps, on the tracker, the result it worked out and how
many events it had read; asked again, it reads only the events added since, with Rasa's own rules
for each. It starts over, as Rasa does, when the events it read are no longer the start of the
tracker's events (object for object), or when a new event names a form that the earlier events did
not: Rasa decides how to treat a form's steps by every form named anywhere in the session.
Why: RulePolicy asks for the state history at each of a turn's predictions, and each time the
applied events were worked out from the first event of the session: at the 500th message of one,
a quarter of the Rasa process's CPU (`make bench`'s ``growth``).
Test: tests/rasa_env/test_rasa_speed_history.py (test_applied_events_extend_as_rasa_works_them_out): the
same list as Rasa's after every event of every training conversation, and of undos, restarts and
forms.
"""

from __future__ import annotations

from typing import Any

SPEED = True
_KEPT = "_aa_applied_events"  # the tracker's attribute: (events, read, last read, loop names, applied)


def apply() -> None:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    original = DialogueStateTracker.applied_events
    if getattr(original, "_extending", False):
        return

    def step(tracker: Any, event: Any, loops: set[str], applied: list[Any]) -> None:
        """Rasa's rule for one event (DialogueStateTracker.applied_events, 3.6)."""
        if isinstance(event, (Restarted, SessionStarted)):
            applied.clear()
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in loops
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)

    def applied_events(self: DialogueStateTracker) -> list[Any]:
        events = self.events
        count = len(events)
        kept = self.__dict__.get(_KEPT)
        start = 0
        if kept is not None:
            seen, read, last, loops, applied = kept
            if seen is events and read <= count and (read == 0 or events[read - 1] is last):
                start = read
        new = [events[i] for i in range(start, count)] if start else list(events)
        names = {e.name for e in new if isinstance(e, ActiveLoop) and e.name}
        if not start or not names <= loops:
            start, new, applied = 0, list(events), []
            loops = {e.name for e in new if isinstance(e, ActiveLoop) and e.name}
        for event in new:
            step(self, event, loops, applied)
        self.__dict__[_KEPT] = (events, count, events[-1] if count else None, loops, applied)
        return list(applied)

    applied_events._extending = True  # type: ignore[attr-defined]
    applied_events.__wrapped_original__ = original  # type: ignore[attr-defined]
    DialogueStateTracker.applied_events = applied_events
