"""Cut a conversation's states at the last rule snippet by slicing, not by inserting one at a time.

What: ``RulePolicy._create_feature_key`` (the JSON of the states after the last rule snippet, which
RulePolicy returns as the prediction's source when no rule applies) finds where to cut and slices,
where Rasa inserts each state at the front of a new list. Same JSON text.
Why: inserting at the front is quadratic in the session's length; at the 500th message of a session
the key took 15 ms, half of it the inserts (`make bench`'s ``growth``).
Test: tests/rasa_env/test_rasa_speed_history.py (test_feature_keys_are_rasas).
"""

from __future__ import annotations

import json
from typing import Any

SPEED = True


def apply() -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    original = RulePolicy._create_feature_key
    if getattr(original, "_sliced", False):
        return

    def _create_feature_key(self: RulePolicy, states: list[dict[str, Any]]) -> str | None:
        start = len(states)
        while start > 0 and not self._is_rule_snippet_state(states[start - 1]):
            start -= 1
        if start == len(states):
            return None
        return json.dumps(states[start:], sort_keys=True)

    _create_feature_key._sliced = True  # type: ignore[attr-defined]
    _create_feature_key.__wrapped_original__ = original  # type: ignore[attr-defined]
    RulePolicy._create_feature_key = _create_feature_key
