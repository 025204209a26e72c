"""`NearestExamplesOutOfScope`: "that's not something I do", decided by the examples nearest in meaning.

The intent classifier draws straight borders between intents over word counts and the sentence
embedding; a message about something we never wrote of (a parcel, a mortgage, a recipe) lands on
whichever side of a border its words fall, often an in-scope one, with confidence to spare. The
nearest training examples by meaning are a second opinion that does not extrapolate: when the
``k`` out-of-scope examples closest to the message are, on average, closer than the ``k`` closest
in-scope examples, the message is out of scope whatever the classifier preferred. That is the
plain nearest-neighbours vote (k 3, no margin); on a 5-fold split of our own data it turned 8 of
about 1,100 out-of-scope examples the classifier had taken in-scope back to out_of_scope, and 7 of
about 5,000 in-scope ones the wrong way (docs/benchmarks.md has the figures on phrasings nobody
here wrote).

"Closeness" is the cosine of the last layer's MiniLM mean, the leading ``width`` values of the
sentence embedding (bot/nlu/sentence_features.py puts the last layer first). The examples are
stored in the model as float16 unit vectors; a message costs one matrix-vector product over them
(about a millisecond).

It abstains where the classifier picked ``inform``, an answer to the bot's own question: a city or
a company name is content, not a request, and may sit nearer anything we wrote.

Place it after the intent classifier and before CardNumberIntent and the guard: a card number
still becomes give_card_number, and the guard sees the final intent.

It also leaves the guard (bot/nlu/guard.py) its evidence for a message it keeps in scope
(``NEAREST``, not part of the parse output): the intent of the single nearest example, and how
much nearer the ``k`` nearest examples of the classifier's intent are than the ``k`` nearest
out-of-scope ones. A request whose nearest neighbours are clearly its intent's is a request of
that kind even where the linear model spread its probability over several intents.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import numpy as np
from numpy.typing import NDArray
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

OUT_OF_SCOPE = "out_of_scope"
NEAREST = "nearest_examples"  # {"intent": the nearest example's, "margin": own k nearest - out-of-scope k nearest}


def meaning(message: Message, width: int) -> Optional[NDArray[np.float32]]:
    """The unit vector of the leading ``width`` values of the message's dense sentence feature."""
    for feature in message.features:
        if feature.attribute == TEXT and feature.type == FEATURE_TYPE_SENTENCE and not feature.is_sparse():
            vector = np.asarray(feature.features, dtype=np.float32).reshape(-1)[:width]
            norm = float(np.linalg.norm(vector))
            return vector / norm if norm > 0 else None
    return None


def nearest_mean(similarities: NDArray[Any], k: int) -> float:
    if not len(similarities):
        return -1.0
    k = min(k, len(similarities))
    return float(np.partition(similarities, len(similarities) - k)[-k:].mean())


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class NearestExamplesOutOfScope(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # inform is an answer to the bot's own question (a city, a company, a name): its words can be
        # anything, and "Boston, MA" sits nearer a trip to Boston than any example of an answer.
        return {"k": 3, "margin": 0.0, "width": 384, "abstain": ["inform"]}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        bank: Optional[tuple[NDArray[Any], ...]] = None,
    ) -> None:
        self.k, self.margin, self.width = int(config["k"]), float(config["margin"]), int(config["width"])
        self.abstain = frozenset(config["abstain"] or ())
        self._storage, self._resource = model_storage, resource
        vectors, self.is_oos, *labels = bank or (np.zeros((0, self.width)), np.zeros(0, bool))
        self.vectors = np.asarray(vectors, dtype=np.float32)  # float16 on disk; numpy multiplies float32 fast
        # each example's intent (models trained before the guard read it have none: no evidence)
        self.labels: Optional[NDArray[Any]] = np.asarray(labels[0]) if labels else None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NearestExamplesOutOfScope:
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vectors, labels = [], []
        for message in training_data.intent_examples:
            vector = meaning(message, self.width)
            if vector is not None:
                vectors.append(vector)
                labels.append(str(message.get(INTENT)))
        if vectors:
            self.vectors = np.vstack(vectors)
            self.labels = np.array(labels)
            self.is_oos = self.labels == OUT_OF_SCOPE
        with self._storage.write_to(self._resource) as directory:
            np.savez_compressed(
                directory / "examples.npz",
                vectors=self.vectors.astype(np.float16),
                is_oos=self.is_oos,
                labels=self.labels if self.labels is not None else np.zeros(0, str),
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> NearestExamplesOutOfScope:
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / "examples.npz")
                bank = (arrays["vectors"], arrays["is_oos"], *([arrays["labels"]] if "labels" in arrays else []))
        except ValueError:  # not trained
            bank = None
        return cls(config, model_storage, resource, bank)

    def similarities(self, message: Message) -> Optional[NDArray[Any]]:
        vector = meaning(message, self.width)
        if vector is None or not self.is_oos.any() or self.is_oos.all():
            return None
        return self.vectors @ vector

    def out_of_scope(self, similarities: NDArray[Any]) -> bool:
        """True when the nearest out-of-scope examples are closer than the nearest in-scope ones."""
        inside = nearest_mean(similarities[~self.is_oos], self.k)
        outside = nearest_mean(similarities[self.is_oos], self.k)
        return outside - inside > self.margin

    def evidence(self, similarities: NDArray[Any], intent: str) -> Optional[Dict[str, Any]]:
        if self.labels is None or len(self.labels) != len(similarities):
            return None
        own = nearest_mean(similarities[self.labels == intent], self.k)
        return {
            "intent": str(self.labels[int(np.argmax(similarities))]),
            "margin": own - nearest_mean(similarities[self.is_oos], self.k),
        }

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if not message.get(TEXT) or intent.get(INTENT_NAME_KEY) in (None, OUT_OF_SCOPE, *self.abstain):
                continue
            similarities = self.similarities(message)
            if similarities is None:
                continue
            if self.out_of_scope(similarities):
                ranking = swapped(message.get(INTENT_RANKING_KEY) or [intent])
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
                message.set(INTENT, ranking[0], add_to_output=True)
            else:
                message.set(NEAREST, self.evidence(similarities, intent[INTENT_NAME_KEY]))
        return messages


def swapped(ranking: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The ranking with out_of_scope and the classifier's top pick trading confidences: the vote
    overrules the pick, and the fallback's bars read the result as clearly as they read the pick."""
    top = ranking[0]
    oos = next((r for r in ranking if r[INTENT_NAME_KEY] == OUT_OF_SCOPE), {PREDICTED_CONFIDENCE_KEY: 0.0})
    traded = [
        {INTENT_NAME_KEY: OUT_OF_SCOPE, PREDICTED_CONFIDENCE_KEY: top[PREDICTED_CONFIDENCE_KEY]},
        {INTENT_NAME_KEY: top[INTENT_NAME_KEY], PREDICTED_CONFIDENCE_KEY: oos[PREDICTED_CONFIDENCE_KEY]},
    ]
    rest = [r for r in ranking[1:] if r[INTENT_NAME_KEY] != OUT_OF_SCOPE]
    return sorted(traded + rest, key=lambda r: -float(r[PREDICTED_CONFIDENCE_KEY] or 0.0))
