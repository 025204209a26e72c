"""`make validate`: Rasa's own data validation (`rasa data validate`), failing on any warning.

Warnings that Rasa's own CLI silences (rasa.utils.common.EXPECTED_WARNINGS) are skipped, and two
kinds of Rasa 3.6 warnings are false positives for this project and are checked instead of trusted
(two more, from training, are checked in ``KnownWarnings`` for scripts/train.py):
- "The utterance X is not used in any story or rule": Rasa only looks at stories and rules. A
  response that a form asks with (utter_ask_<form>_<slot>, utter_ask_<slot> for a slot of the
  domain: forms may request slots dynamically), that a custom action sends (its name, or an
  f-string prefix of it, appears in bot/actions/), or that the core fallback sends (utter_default)
  is used; any other unused response still fails.
- "duplicated intents ... across multiple domain files" for a retrieval intent (faq): Rasa 3.6
  adds retrieval intents from the NLU data to the domain itself and then reports the domain's
  own declaration as a duplicate.
Run with the Rasa environment's Python from the repository root.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

from rasa.cli.utils import validate_files
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.utils.common import EXPECTED_WARNINGS

ROOT = Path(__file__).resolve().parents[1]
UNUSED = re.compile(r"The utterance '([^']+)' is not used in any story or rule\.")
NO_SELECTOR = "your NLU configuration does not include a response selector component"
LOOKUPS_WITHOUT_PATTERN = "training data consisting of lookup tables, but your NLU configuration's 'CRFEntityExtractor'"
DUPLICATE_INTENTS = re.compile(r"^The following duplicated intents have been found across multiple domain files: (.+)$")


def is_used(name: str, used: set[str], prefixes: tuple[str, ...], action_code: str) -> bool:
    return (
        name in used
        or (bool(prefixes) and name.startswith(prefixes))
        or re.search(rf"[\"']{re.escape(name)}[\"']", action_code) is not None
    )


def importer() -> TrainingDataImporter:
    return TrainingDataImporter.load_from_config(
        config_path=str(ROOT / "config.yml"),
        domain_path=str(ROOT / "bot" / "domain"),
        training_data_paths=[str(ROOT / "nlu_data"), str(ROOT / "stories")],
    )


class KnownWarnings:
    """Which of Rasa's warnings are expected (Rasa's own list) or checked false positives here."""

    def __init__(self, data: TrainingDataImporter) -> None:
        domain = data.get_domain()
        self.retrieval = set(data.get_nlu_data().retrieval_intents)
        slots = [slot.name for slot in domain.slots]
        self.used = {f"utter_ask_{form}_{slot}" for form in domain.forms for slot in slots}
        self.used |= {f"utter_ask_{slot}" for slot in slots} | {"utter_default"}
        self.action_code = "\n".join(p.read_text() for p in (ROOT / "bot" / "actions").rglob("*.py"))
        self.prefixes = tuple(re.findall(r"f[\"'](utter_[a-z0-9_]*)\{", self.action_code))
        self.pipeline = [str(c.get("name")) for c in data.get_config().get("pipeline") or []]

    @staticmethod
    def expected(warning: warnings.WarningMessage) -> bool:
        """Not a data problem: not a UserWarning, a library's deprecation notice, or one Rasa's own
        CLI silences."""
        text = str(warning.message).strip()
        if not issubclass(warning.category, UserWarning) or warning.category.__name__.endswith("DeprecationWarning"):
            return True
        return any(
            issubclass(warning.category, kind) and re.match(pattern, text) for kind, pattern in EXPECTED_WARNINGS
        )

    def false_positive(self, warning: warnings.WarningMessage) -> bool:
        text = str(warning.message).strip()
        unused = UNUSED.search(text)
        if unused and is_used(unused.group(1), self.used, self.prefixes, self.action_code):
            return True
        duplicate = DUPLICATE_INTENTS.match(text)
        if duplicate:
            return set(duplicate.group(1).split(", ")) <= self.retrieval
        if NO_SELECTOR in text:  # Rasa looks for its own class; ours is bot/nlu/linear_responses.py's
            return any(name.endswith("ResponseSelector") for name in self.pipeline)
        if LOOKUPS_WITHOUT_PATTERN in text:  # the lookup tables feed RegexFeaturizer; the CRF needs none
            return "RegexFeaturizer" in self.pipeline
        return False


def main() -> int:
    data = importer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate_files(fail_on_warnings=False, max_history=None, importer=data)
    known = KnownWarnings(data)
    problems, explained = [], 0
    for warning in caught:
        if known.expected(warning):
            continue
        if known.false_positive(warning):
            explained += 1
            continue
        problems.append(str(warning.message).strip())
    for text in problems:
        print(f"WARNING: {text}")
    print(
        f"validate: {len(problems)} warning(s); {explained} checked false positive(s) "
        "(responses used by forms or actions, retrieval-intent duplicate)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
