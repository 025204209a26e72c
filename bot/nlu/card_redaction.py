"""Card numbers never reach the tokenizer, the featurizers, the tracker's parse data or the model.

- `redact(text) -> (text, count)` (from `bot.nlu.cards`, pure Python; the gateway reuses it).
- `CardNumberRedactor`: FIRST in the pipeline. Replaces each card number with `CARDNUMBER` in
  every string attribute of the message (training and inference) and sets the message attribute
  `card_number_redacted` (True also when an upstream channel already put the token in the text).
- `CardNumberIntent`: after the intent classifier. A message holding `CARDNUMBER` gets the intent
  `give_card_number` with confidence 1.0, whatever the classifier thought, so the bot answers with
  the secure payment-method link and never acts on such a message.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.cards import TOKEN, find_card_numbers, redact_value
from bot.nlu.cards import redact as redact  # re-exported: bot/rasa_server/channel.py imports it from here

REDACTED_FLAG = "card_number_redacted"
CARD_INTENT = "give_card_number"
INTENT_RANKING = "intent_ranking"


def redact_message(message: Message) -> int:
    """Redact the message in place: its text (moving entity offsets after each number), then every
    other string attribute. Returns how many card numbers were replaced in the text."""
    text = message.get(TEXT)
    count = 0
    if isinstance(text, str) and text:
        spans = find_card_numbers(text)
        if spans:
            entities = message.get(ENTITIES) or []
            for start, end in reversed(spans):
                shift = len(TOKEN) - (end - start)
                text = text[:start] + TOKEN + text[end:]
                for entity in entities:
                    if entity.get(ENTITY_ATTRIBUTE_START, -1) >= end:
                        entity[ENTITY_ATTRIBUTE_START] += shift
                        entity[ENTITY_ATTRIBUTE_END] += shift
            message.set(TEXT, text)
            count = len(spans)
    for key, value in list(message.data.items()):
        if key in (TEXT, ENTITIES) or value is None:
            continue
        redacted = redact_value(value)
        if redacted != value:
            message.data[key] = redacted
    flagged = count > 0 or (isinstance(text, str) and TOKEN in text)
    if flagged:
        message.set(REDACTED_FLAG, True, add_to_output=True)
    return count


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class CardNumberRedactor(GraphComponent):
    """Replaces card numbers with CARDNUMBER before anything else sees the message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CardNumberRedactor:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            redact_message(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            redact_message(message)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CardNumberIntent(GraphComponent):
    """A message with a (redacted) card number is `give_card_number`, with confidence 1.0."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": CARD_INTENT}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config.get("intent", CARD_INTENT)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CardNumberIntent:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not (message.get(REDACTED_FLAG) or TOKEN in text):
                continue
            top = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, top, add_to_output=True)
            ranking = [r for r in (message.get(INTENT_RANKING) or []) if r.get(INTENT_NAME_KEY) != self.intent]
            message.set(INTENT_RANKING, [top] + ranking, add_to_output=True)
        return messages
