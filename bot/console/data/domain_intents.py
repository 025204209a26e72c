"""The intents a reviewer may give a message, read from the Rasa domain's YAML (``bot/domain/``).

The domain's intents, except:
- Rasa's own (``nlu_fallback``, ``restart``, ``back``, ``session_start``): set by Rasa, never
  learned from examples;
- ``give_card_number``: set by the card-number component (bot/nlu/card_redaction.py) when it
  redacted a card, and a line with a card number, or its token, is never written as training data;
- a retrieval intent (``faq``), replaced by its questions (``faq/where_is_account``...), one per
  ``utter_faq/<question>`` response: the response selector learns the question, and an example
  under the bare ``faq`` would teach it nothing.
Plus ``out_of_scope`` (api.OUT_OF_SCOPE), whether or not the domain lists it. Sorted by name.
The files are read again when one changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.console.data.api import OUT_OF_SCOPE
from bot.console.data.nlu_files import Stamp, load_yaml, stamps

RASA_INTENTS = frozenset({"nlu_fallback", "restart", "back", "session_start"})
NOT_TAUGHT = frozenset({"give_card_number"})


def _names(entries: Any) -> list[str]:
    """Intent names of a domain's ``intents:`` list (a name, or ``{name: {options}}``)."""
    names: list[str] = []
    for entry in entries or []:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict):
            names += [k for k in entry if isinstance(k, str)]
    return names


def read_intents(domain_dir: Path) -> list[str]:
    intents: list[str] = []
    responses: set[str] = set()
    for path in sorted(domain_dir.glob("*.yml")):
        data = load_yaml(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            continue
        intents += _names(data.get("intents"))
        if isinstance(data.get("responses"), dict):
            responses.update(k for k in data["responses"] if isinstance(k, str))
    chosen = {OUT_OF_SCOPE}
    for intent in intents:
        questions = {r.removeprefix("utter_") for r in responses if r.startswith(f"utter_{intent}/")}
        if questions:
            chosen |= questions
        elif intent not in RASA_INTENTS | NOT_TAUGHT:
            chosen.add(intent)
    return sorted(chosen)


class DomainIntents:
    def __init__(self, domain_dir: Path) -> None:
        self.domain_dir = domain_dir
        self._stamp: Stamp | None = None
        self._intents: list[str] = []

    def intents(self) -> list[str]:
        stamp = stamps(self.domain_dir.glob("*.yml"))
        if stamp != self._stamp:
            self._intents, self._stamp = read_intents(self.domain_dir), stamp
        return list(self._intents)
