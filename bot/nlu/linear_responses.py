"""`LinearResponseSelector`: which FAQ question was asked, by a linear model over the sentence features.

It does the job of Rasa's ResponseSelector for the retrieval intent (``faq``): for a message whose
intent is ``faq`` it picks the question (``faq/<question>``, the examples' full retrieval intent)
and puts on the message what Rasa's selector puts there, so Rasa's ``utter_faq`` retrieval action
and bot/actions/admins.py read it unchanged:

    response_selector: {all_retrieval_intents: [...], faq: {
        response: {responses, confidence, intent_response_key, utter_action},
        ranking: [{confidence, intent_response_key}, ...]}}

The model is bot/nlu/linear_model.py's (the intent classifier's), trained on the FAQ's examples
only, with the question as the label. Why not Rasa's selector: its TensorFlow network added ~520 MB
to each Rasa process when the model loaded (it runs a one-batch fit before loading its weights),
took about two minutes to train and 9-15 ms of CPU per FAQ question, and picked the question less
often right: 0.94 / 0.93 in 5-fold cross-validation of our FAQ examples (two fold seeds) where
this gets 0.99 / 0.98 (scripts/faq_selector_compare.py).

Messages with another intent get nothing (nothing reads the selector's answer for them). The
answers (the domain's ``utter_<question>`` responses) are stored with the model as JSON, as Rasa's
selector stores them, so a retrieval action gets the texts the model was trained with.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_DEFAULT_INTENT,
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.nlu.training_data.util import intent_response_key_to_template_key

from .linear_model import WEIGHTS, LinearModel

ANSWERS = "answers.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearResponseSelector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # retrieval_intent None: the examples of every retrieval intent, answered under "default"
        # (as Rasa's selector does).
        return {"retrieval_intent": None, "C": 10.0, "dense_weight": 2.0, "ranking_length": 10, "max_iter": 3000}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[LinearModel] = None,
        answers: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.config = config
        self._storage, self._resource = model_storage, resource
        self.model = model
        answers = answers or {}
        self.all_retrieval_intents: List[str] = list(answers.get("all_retrieval_intents") or [])
        self.responses: Dict[str, List[Dict[str, Any]]] = dict(answers.get("responses") or {})

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearResponseSelector:
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    @property
    def retrieval_intent(self) -> Optional[str]:
        return self.config["retrieval_intent"] or None

    def _answers(self, message: Message) -> bool:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        return bool(message.get(TEXT)) and intent in (
            [self.retrieval_intent] if self.retrieval_intent else self.all_retrieval_intents
        )

    def train(self, training_data: TrainingData) -> Resource:
        self.all_retrieval_intents = sorted(training_data.retrieval_intents)
        examples = [
            m
            for m in training_data.intent_examples
            if m.get(INTENT_RESPONSE_KEY) and (self.retrieval_intent in (None, m.get(INTENT)))
        ]
        self.model = None
        if examples:
            self.model = LinearModel.fit(examples, [m.get(INTENT_RESPONSE_KEY) for m in examples], self.config)
        keys = {intent_response_key_to_template_key(c) for c in (self.model.classes if self.model else [])}
        self.responses = {k: v for k, v in training_data.responses.items() if k in keys}
        with self._storage.write_to(self._resource) as directory:
            if self.model:
                self.model.save(directory)
            answers = {"all_retrieval_intents": self.all_retrieval_intents, "responses": self.responses}
            (directory / ANSWERS).write_text(json.dumps(answers))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearResponseSelector:
        config = {**cls.get_default_config(), **config}
        model, answers = None, None
        try:
            with model_storage.read_from(resource) as directory:
                answers = json.loads((directory / ANSWERS).read_text())
                if (directory / WEIGHTS).exists():
                    model = LinearModel.load(directory, float(config["dense_weight"]))
        except ValueError:  # not trained
            pass
        return cls(config, model_storage, resource, model, answers)

    def selection(self, model: LinearModel, probs: Any) -> Dict[str, Any]:
        """What Rasa's ResponseSelector puts under its key for one row of the model's probabilities."""
        ranking = model.ranking(probs, int(self.config["ranking_length"]))
        key, confidence = ranking[0]
        action = intent_response_key_to_template_key(key)
        # Rasa's fallback when the domain has no answer for the question: its key as the text.
        responses = self.responses.get(action) or [{TEXT: key}]
        return {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: responses,
                PREDICTED_CONFIDENCE_KEY: confidence,
                INTENT_RESPONSE_KEY: key,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: action,
            },
            RESPONSE_SELECTOR_RANKING_KEY: [
                {PREDICTED_CONFIDENCE_KEY: p, INTENT_RESPONSE_KEY: name} for name, p in ranking
            ],
        }

    def process(self, messages: List[Message]) -> List[Message]:
        asked = [m for m in messages if self._answers(m)]
        model = self.model
        probs = model.probabilities(asked) if model and asked else None
        if model is None or probs is None:
            return messages
        for message, row in zip(asked, probs):
            properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
            properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.all_retrieval_intents
            properties[self.retrieval_intent or RESPONSE_SELECTOR_DEFAULT_INTENT] = self.selection(model, row)
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
        return messages
