"""`AccountEntityExtractor`: quantity, invoice_number, email and period by rule (see extraction.py).

Placed after the tokenizer and before the learned extractor (the CRF). At training time it removes
the annotations of the entity types it owns from the training examples, so the CRF learns only the others (product); at
inference it adds its entities (start/end/value/extractor, like Rasa's extractors) to the message.
Config: `today` (ISO date, tests only) fixes the date periods are resolved against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.extraction import extract_entities

OWNED = ("quantity", "invoice_number", "email", "period")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
)
class AccountEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Rule-based quantity / invoice_number / email / period extraction."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "entities": list(OWNED),  # which of the rule-based types to extract
            "today": None,  # ISO date; None = the real date at each message
            "strip_training_annotations": True,  # so the CRF does not learn these types too
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = {**self.get_default_config(), **config}
        self.entity_types = set(self.config["entities"])
        today = self.config.get("today")
        self.fixed_today: Optional[dt.date] = dt.date.fromisoformat(today) if today else None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AccountEntityExtractor:
        return cls(config)

    def today(self) -> dt.date:
        return self.fixed_today or dt.date.today()

    def extract(self, text: str) -> List[Dict[Text, Any]]:
        entities = [e for e in extract_entities(text, self.today()) if e["entity"] in self.entity_types]
        named: List[Dict[Text, Any]] = self.add_extractor_name(entities)  # Rasa's mixin is untyped
        return named

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        if self.config["strip_training_annotations"]:
            for example in training_data.training_examples:
                entities = example.get(ENTITIES)
                if entities:
                    example.set(
                        ENTITIES, [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) not in self.entity_types]
                    )
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            message.set(ENTITIES, message.get(ENTITIES, []) + self.extract(text), add_to_output=True)
        return messages
