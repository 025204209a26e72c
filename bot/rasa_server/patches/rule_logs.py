"""Format RulePolicy's debug line about the conversation's states only when debug logs are written.

What: ``Policy.format_tracker_states`` (used only for RulePolicy's ``rule_policy.actions.find``
debug line, which Rasa builds and deep-copies at every prediction whatever the log level) returns
an empty text unless Rasa's logger writes debug lines; with ``--debug`` the line is Rasa's.
Why: the text lists every state of the session; at the 500th message of one, building it was a
seventh of the Rasa process's CPU (`make bench`'s ``growth``).
Test: tests/rasa_env/test_rasa_speed_history.py (test_rule_states_are_formatted_only_for_debug_logs).
"""

from __future__ import annotations

import logging
from typing import Any

SPEED = True


def apply() -> None:
    from rasa.core.policies.policy import Policy

    original = Policy.__dict__["format_tracker_states"].__func__
    if getattr(original, "_for_debug_only", False):
        return
    rule_log = logging.getLogger("rasa.core.policies.rule_policy")

    def format_tracker_states(states: list[dict[str, Any]]) -> str:
        return original(states) if rule_log.isEnabledFor(logging.DEBUG) else ""

    format_tracker_states._for_debug_only = True  # type: ignore[attr-defined]
    format_tracker_states.__wrapped_original__ = original  # type: ignore[attr-defined]
    Policy.format_tracker_states = staticmethod(format_tracker_states)
