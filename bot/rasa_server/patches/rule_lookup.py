"""Match rules against a conversation without re-reading them at every step.

What: ``RulePolicy._get_possible_keys`` parses each rule's JSON key once (cached), starts from the
rules whose last step follows the action the conversation's last step follows (an index of each
lookup by the previous action its rules require, kept while the lookup is unchanged: a rule that
requires another previous action can never match, as Rasa's own check says), and stops walking the
conversation once nothing more can change (no rule left, or every rule left shorter than the turns
already looked at).
Why: RulePolicy re-read each of our ~260 rules from its JSON key at every step of every turn, and
walked the whole conversation even after no rule was left, twice a turn; and it compared every rule
with the latest step, where a handful follow its previous action (2 ms of a 14 ms turn).
Test: tests/rasa_env/test_rasa_speed.py, test_rule_lookup_finds_the_keys_rasas_finds: the same keys
as Rasa's own code in every state of our training conversations.
"""

from __future__ import annotations

SPEED = True


def apply() -> None:
    import functools

    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

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

    def required(sub_state: dict | None) -> frozenset:
        """What a rule's previous action must be: the values Rasa's check compares for equality."""
        return frozenset((k, v) for k, v in (sub_state or {}).items() if v and v != SHOULD_NOT_BE_SET)

    ANY = "any"  # a rule of no steps, which Rasa's check finds applicable to anything

    def index(policy: RulePolicy, lookup: dict[str, str]) -> dict[frozenset | str | None, list]:
        """The lookup's rules by what their last step requires of the previous action (None: the
        step has no previous action, which matches only a step without one)."""
        kept = policy.__dict__.setdefault("_aa_rule_index", {})
        entry = kept.get(id(lookup))
        if entry is None or entry[0] is not lookup or entry[1] != len(lookup):
            groups: dict[frozenset | str | None, list] = {}
            for key in lookup:
                rule = reversed_states(key)
                previous = rule[0].get(PREVIOUS_ACTION) if rule else None
                group = ANY if not rule else required(previous) if previous else None
                groups.setdefault(group, []).append((key, rule))
            entry = kept[id(lookup)] = (lookup, len(lookup), groups)
        return entry[2]

    def candidates(policy: RulePolicy, lookup: dict[str, str], states: list[dict]) -> list:
        groups = index(policy, lookup)
        if not states:
            return [pair for group in groups.values() for pair in group]
        previous = states[-1].get(PREVIOUS_ACTION)
        if not previous:
            return [*groups.get(None, ()), *groups.get(ANY, ())]
        present = set(previous.items())
        return [
            pair
            for need, group in groups.items()
            if need == ANY or (isinstance(need, frozenset) and need <= present)
            for pair in group
        ]

    def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[dict]) -> set[str]:
        keys = candidates(self, lookup, states)
        for turn, state in enumerate(reversed(states)):
            if not keys or all(turn >= len(rule) for _, rule in keys):
                break
            keys = [(key, rule) for key, rule in keys if applicable(rule, turn, state)]
        return {key for key, _ in keys}

    _get_possible_keys._indexed = True  # type: ignore[attr-defined]
    _get_possible_keys.__wrapped_original__ = original  # type: ignore[attr-defined]
    RulePolicy._get_possible_keys = _get_possible_keys
