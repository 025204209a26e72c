"""`python -m bot.rasa_run run ...`: the `rasa` command, with one fix to Rasa 3.6's turn hot path.

bot.runner starts Rasa this way (make run, make shell, the end-to-end tests and the bench); the
arguments are `rasa`'s own. Plain `rasa run` works too, just slower.

The fix: after each custom action, Rasa checks the action server's answer against a JSON schema
with ``jsonschema.validate(answer, schema)``, which first validates the *schema* itself against
the JSON Schema meta-schema (``check_schema``), on every call. With jsonschema 4.17 that costs
about a third of the Rasa process's CPU time per billing turn (measured with py-spy during the
turn benchmark). Here the schema is checked once and its validator kept; every answer is still
validated the same way, with the same error (``best_match``, Rasa's message appended).
"""
from __future__ import annotations

import sys
from typing import Any


def _patch_action_result_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    original = getattr(RemoteAction, "_validate_action_result", None)
    if original is None or getattr(original, "_cached_validator", False):
        return  # another Rasa version, or already done
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
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def main() -> None:
    _patch_action_result_validation()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
