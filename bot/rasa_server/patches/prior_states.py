"""Within a turn, extend a conversation's state history instead of rebuilding it at every prediction.

What: ``Domain.states_for_tracker_history`` (the state before each action of the session, which
RulePolicy matches its rules against) keeps, on the tracker object it was asked about, the states
it computed and its replay of the events; asked again about the same tracker with more events (the
next prediction of the same turn), it replays only the new ones. It resumes only when the events
applied before are, object for object, the start of the events applied now: a restart, a session
start, an undo (ActionReverted, UserUtteranceReverted) or a form's loop step that drops earlier
events from the applied history (Rasa's ``applied_events``) makes it start over, as Rasa does. Only
the history without hidden rule turns (RulePolicy's; ML policies ask for the other kind) is kept.
Why: RulePolicy rebuilt the whole session's states for each of a turn's three or four predictions,
replaying every event: under the growth benchmark, at the 500th message of a session, it was 28 %
of the Rasa process's CPU.
Test: tests/rasa_env/test_rasa_speed_history.py, test_prior_states_extend_as_rasa_rebuilds_them: the same
states as Rasa's own code after every event of every training conversation, and of conversations
with undos, restarts and forms.
"""

from __future__ import annotations

from typing import Any

SPEED = True
_KEPT = "_aa_prior_states"  # the tracker's attribute: {omit_unset_slots: (applied, replay, states)}


def apply() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted

    original = Domain.states_for_tracker_history
    if getattr(original, "_extending", False):
        return

    def states_for_tracker_history(
        self: Domain,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        if ignore_rule_only_turns:
            return original(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        applied = tracker.applied_events()
        kept = tracker.__dict__.setdefault(_KEPT, {})
        before = kept.get((id(self), omit_unset_slots))
        if before is not None and _starts_with(applied, before[0]):
            _, replay, states = before
            start = len(before[0])
        else:
            replay, states, start = tracker.init_copy(), [], 0
        for event in applied[start:]:
            if isinstance(event, ActionExecuted):
                states.append(self._clean_state(self.get_active_state(replay, omit_unset_slots=omit_unset_slots)))
            replay.update(event)
        kept[(id(self), omit_unset_slots)] = (applied, replay, states)
        # the state after the last event, which the next call does not keep (it is no prior state)
        return [*states, self._clean_state(self.get_active_state(replay, omit_unset_slots=omit_unset_slots))]

    def _starts_with(applied: list[Any], prefix: list[Any]) -> bool:
        return len(applied) >= len(prefix) and all(a is b for a, b in zip(applied, prefix))

    states_for_tracker_history._extending = True  # type: ignore[attr-defined]
    states_for_tracker_history.__wrapped_original__ = original  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = states_for_tracker_history
