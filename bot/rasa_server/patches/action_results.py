"""Check the action server's answers with a validator built once.

What: ``RemoteAction._validate_action_result`` keeps one jsonschema validator for the answer schema.
Why: Rasa calls ``jsonschema.validate(answer, schema)`` after every custom action, which first
checks the schema itself against the meta-schema; with jsonschema 4.17 that was the largest cost of
a billing turn in the Rasa process. Every answer is still validated, with Rasa's own error message.
Test: tests/rasa_env/test_rasa_speed.py (test_action_answers_are_still_validated).
"""

from __future__ import annotations

from typing import Any

SPEED = True


def apply() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction._validate_action_result, "_cached_validator", False):
        return
    validator = None

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        nonlocal validator
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validator_for(schema)
            cls.check_schema(schema)  # once, as jsonschema.validate would on every call
            validator = cls(schema)
        error = best_match(validator.iter_errors(result))
        if error is not None:
            assert isinstance(error, ValidationError)
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    _validate_action_result._cached_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result
