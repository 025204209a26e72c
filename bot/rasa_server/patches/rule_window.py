"""Give RulePolicy only the latest states of a conversation: as many as its longest rule, and one more.

What: ``RulePolicy._prediction_states`` (the states RulePolicy matches its rules against) returns the
last states of the session, one more than the longest rule of its lookups holds, instead of every
state since the session started. The same rules match: a rule is compared with the conversation
only as far back as the rule is long, and a conversation-start rule's empty first state still meets
a real state (so it does not match mid-conversation, as before). The only other use of the states
is the key RulePolicy names its prediction by when no rule applies, which it looks up among its
rules that are not in stories; a key of more states than the longest rule is none of them, whether
cut or whole. So every prediction is Rasa's; only debug logging shows fewer past states.
Why: building, cleaning and matching every state of the session, three or four times a turn, made
RulePolicy's share of a turn grow with the session: at the 500th message of one it was 5.5 ms of the
Rasa process's CPU a turn against 0.8 ms at the 10th (`make bench`'s ``growth``).
Test: tests/rasa_env/test_rasa_speed_history.py (test_rule_window_predicts_as_rasa): the same
prediction as Rasa's own code in every state of every training conversation and of long
conversations made of many of them back to back.
"""

from __future__ import annotations

import json
from typing import Any

SPEED = True


def _window(policy: Any) -> int | None:
    """One more than the longest rule of the policy's lookups, kept while the lookups are unchanged;
    None for a policy without rules."""
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH

    lookups = [policy.lookup.get(RULES) or {}, policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH) or {}]
    key = tuple((id(lookup), len(lookup)) for lookup in lookups)
    kept = policy.__dict__.get("_aa_rule_window")
    if kept is None or kept[0] != key:
        lengths = [len(json.loads(rule)) for lookup in lookups for rule in lookup]
        kept = (key, max(lengths) + 1 if lengths else None)
        policy.__dict__["_aa_rule_window"] = kept
    return kept[1]


def apply() -> None:
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.core.policies.policy import SupportedData
    from rasa.core.policies.rule_policy import RulePolicy

    original = RulePolicy._prediction_states
    if getattr(original, "_windowed", False):
        return

    def _prediction_states(
        self: RulePolicy,
        tracker: Any,
        domain: Any,
        use_text_for_last_user_input: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        featurizer = self.featurizer
        window = _window(self)
        if (
            window is None
            or type(featurizer) is not MaxHistoryTrackerFeaturizer
            or featurizer.max_history is not None
            or self.supported_data() == SupportedData.ML_DATA
        ):
            return original(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
        # MaxHistoryTrackerFeaturizer.prediction_states for a rule policy (no rule-only turns ignored,
        # no action_unlikely_intent removed, no max_history), on the latest states only
        states = featurizer._create_states(tracker, domain, rule_only_data=rule_only_data)[-window:]
        featurizer._choose_last_user_input([states], use_text_for_last_user_input)
        return states

    _prediction_states._windowed = True  # type: ignore[attr-defined]
    _prediction_states.__wrapped_original__ = original  # type: ignore[attr-defined]
    RulePolicy._prediction_states = _prediction_states
