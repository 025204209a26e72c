"""Match rules against a conversation without re-reading them at every step.

What: ``RulePolicy._get_possible_keys`` parses each rule's JSON key once (cached) and stops walking
the conversation once nothing more can change (no rule left, or every rule left shorter than the
turns already looked at).
Why: RulePolicy re-read each of our ~240 rules from its JSON key at every step of every turn, and
walked the whole conversation even after no rule was left, twice a turn.
Test: tests/rasa_env/test_rasa_speed.py, test_rule_lookup_finds_the_keys_rasas_finds: the same keys
as Rasa's own code in every state of our training conversations.
"""

from __future__ import annotations

SPEED = True


def apply() -> None:
    import functools

    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import PREVIOUS_ACTION

    original = RulePolicy._get_possible_keys
    if getattr(original, "_indexed", False):
        return

    @functools.lru_cache(maxsize=4096)
    def reversed_states(rule_key: str) -> tuple[dict, ...]:
        """A rule's states, newest first, with JSON's lists back as the tuples the states hold."""
        states = RulePolicy._rule_key_to_state(rule_key)
        return tuple(
            {kind: {k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()} for kind, sub in state.items()}
            for state in reversed(states)
        )

    match = RulePolicy._does_rule_match_state

    def applicable(rule: tuple[dict, ...], turn: int, state: dict) -> bool:
        # RulePolicy._is_rule_applicable, on the pre-parsed rule
        if turn >= len(rule):
            return True
        rule_previous, current_previous = rule[turn].get(PREVIOUS_ACTION), state.get(PREVIOUS_ACTION)
        if not rule_previous and not current_previous:
            return True
        if not rule_previous or not current_previous:
            return False
        return match(rule[turn], state)

    def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[dict]) -> set[str]:
        keys = [(key, reversed_states(key)) for key in lookup]
        for turn, state in enumerate(reversed(states)):
            if not keys or all(turn >= len(rule) for _, rule in keys):
                break
            keys = [(key, rule) for key, rule in keys if applicable(rule, turn, state)]
        return {key for key, _ in keys}

    _get_possible_keys._indexed = True  # type: ignore[attr-defined]
    _get_possible_keys.__wrapped_original__ = original  # type: ignore[attr-defined]
    RulePolicy._get_possible_keys = _get_possible_keys
