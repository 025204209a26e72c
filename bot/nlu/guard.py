"""A higher bar for intents that change something (money, licences, cards, contacts).

Misreading "cancel my flight" as ``cancel_subscription`` costs far more than asking again, so
when the classifier's top intent is one of these and its confidence is under ``threshold``, the
message becomes ``nlu_fallback`` (as Rasa's FallbackClassifier does for every intent at a lower
bar). Read-only intents keep the normal bar. Place it after the intent classifier and
NearestExamplesOutOfScope, and before FallbackClassifier.

Under the bar, a request still counts as sure from ``supported_threshold`` up when the examples
nearest it in meaning back it (NearestExamplesOutOfScope's evidence): the single nearest example
is of the same intent, and that intent's nearest examples are at least ``supported_margin`` nearer
than the nearest out-of-scope ones. The linear model spreads its probability over 30 intents, so a
clear "add three seats for the new starters" can sit at 0.6 with every neighbour an add_licenses
example. The margin is what keeps other companies' cards, seats and purchases out: at 0.1 the
external report's false actions doubled (0.27 % -> 0.54 %), and on our own data (5-fold
cross-validation, two fold seeds, with the out-of-scope examples near our changes) every margin up
to 0.2 let 1-2 more of our 1,272 out-of-scope examples through to a change. At 0.5 and 0.3, none
more (3 of 1,272 with or without it, both seeds), 6.1-6.6 % of state-changing examples asked "did
you mean" instead of 7.6-8.4 %, intent macro F1 +0.002-0.003, and nlu_dev accuracy 0.934 -> 0.936
with 0 of 301 out-of-scope lines taken for a change. Every change still asks its own confirmation
before anything happens.

A message with no letter or digit in it ("-", "...", an emoji, invisible characters) says nothing
the classifier can be trusted with: it is never a change, and never a yes or no to one (the
``wordless`` intents), whatever the classifier's confidence.
"""

from __future__ import annotations

import unicodedata
from typing import AbstractSet, Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.out_of_scope import NEAREST

STATE_CHANGING = (
    "add_licenses",
    "buy_product",
    "upgrade_edition",
    "pay_invoice",
    "share_invoice",
    "update_payment_method",
    "update_billing_details",
    "cancel_subscription",
)

CONFIRMATIONS = ("affirm", "deny")


def has_word(text: str) -> bool:
    """Whether ``text`` has a letter or a digit of any script in it."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def guarded(
    intent: Dict[Text, Any] | None,
    intents: set[str],
    threshold: float,
    *,
    text: str = "x",
    wordless: AbstractSet[str] = frozenset(),
    nearest: Dict[Text, Any] | None = None,
    supported: tuple[float, float] = (1.0, 1.0),
) -> Dict[Text, Any] | None:
    """The fallback intent to use instead of ``intent``, or None to keep it."""
    name = (intent or {}).get(INTENT_NAME_KEY)
    if not intent or name not in intents | wordless:
        return None
    if not has_word(text):
        return {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
    confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    if name not in intents or confidence >= threshold:
        return None
    least, margin = supported
    if nearest and confidence >= least and nearest.get("intent") == name and nearest.get("margin", -1.0) >= margin:
        return None
    return {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: threshold}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class StateChangeGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "threshold": 0.85,
            "intents": list(STATE_CHANGING),
            "wordless": list(CONFIRMATIONS),
            # no lower bar for requests their nearest examples back unless configured
            "supported_threshold": 1.0,
            "supported_margin": 1.0,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.threshold = float(config["threshold"])
        self.intents = set(config["intents"])
        self.wordless = set(config.get("wordless", CONFIRMATIONS))
        self.supported = (float(config.get("supported_threshold", 1.0)), float(config.get("supported_margin", 1.0)))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StateChangeGuard:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            fallback = guarded(
                message.get(INTENT),
                self.intents,
                self.threshold,
                text=str(message.get(TEXT) or ""),
                wordless=self.wordless,
                nearest=message.get(NEAREST),
                supported=self.supported,
            )
            if fallback is None:
                continue
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
