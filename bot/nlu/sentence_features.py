"""A Rasa dense featurizer: the message's MiniLM sentence embedding as its sentence feature.

Counting words and character n-grams (CountVectorsFeaturizer) only knows the words of our own
examples; customers who say "what do I owe you" when we wrote "what's my balance" need a
representation that knows both mean the same. This adds the 384-dimensional all-MiniLM-L6-v2
embedding (bot/nlu/minilm.py) of the text as a dense *sentence* feature, beside the sparse ones,
for LinearIntentClassifier and LinearResponseSelector. With ``also_layers: [3]`` it adds the mean of the
third layer's output too (768 in all), from the same forward pass, as config.yml does. On a quick
5-fold cross-validation of the linear classifier over our real featurizers (two fold seeds), the
third layer took intent macro F1 from 0.942 / 0.941 to 0.952 / 0.948 (layer 2: 0.951, layer 4:
0.948; layers 2 and 3 together: no better than 3; the last layer alone, weighted more: no
better). On the external evaluation it moved accuracy only from 0.841 to 0.843 (clinc150 +2
points, natcs -6); `make bench`'s own cross-validation went from 0.939 to 0.947 on the same data.
LinearIntentClassifier's dense_weight 2.83 keeps each embedding at the weight 2 the last had alone.
Layers 2 and 3 together (dense_weight 3.46) looked better in the same quick cross-validation with
C 30 and the data of 2026-11-28 (0.9565 / 0.9546 against 0.9537 / 0.9526), but a model trained that
way scored 0.834 on the external evaluation against 0.845 (both strict scoring), with more in-scope
lines sent to out_of_scope: it fits our own wording more closely, and is not used.

No sequence features: entities stay with the rules and the CRF.

Training examples' embeddings are cached per text in the process (bounded), so the folds of a
cross-validation embed each example once. Messages at run time are always embedded afresh (a
cache there would only make benchmarks that repeat a message look faster than real traffic).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Text

from numpy.typing import NDArray
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.minilm import MiniLM
from bot.nlu.spelling import SPELLED_TEXT

CACHE_SIZE = 50_000


class _Cache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.vectors: OrderedDict[tuple[int, tuple[int, ...], bool, str], NDArray[Any]] = OrderedDict()

    def get_many(self, encoder: MiniLM, texts: List[str]) -> List[NDArray[Any]]:
        keys = [(encoder.layers, encoder.also, encoder.quantized, t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        if missing:
            for key, vector in zip(missing, encoder.encode([key[-1] for key in missing])):
                self.vectors[key] = vector
        result = []
        for key in keys:
            self.vectors.move_to_end(key)
            result.append(self.vectors[key])
        while len(self.vectors) > self.size:
            self.vectors.popitem(last=False)
        return result


_CACHE = _Cache(CACHE_SIZE)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # layers: how many of the model's 6 transformer layers to run (fewer is faster, coarser);
        # also_layers: earlier layers whose mean is added after the last one's (same pass, no cost);
        # quantized: the dense products in int8 (bot/nlu/minilm.py: about half the CPU per message)
        return {**DenseFeaturizer.get_default_config(), "layers": 6, "also_layers": [], "quantized": False}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        layers = int(config.get("layers") or 6)
        if not 1 <= layers <= 6:
            raise ValueError("SentenceEmbeddingFeaturizer: layers must be 1 to 6")
        if any(not 1 <= int(n) < layers for n in config.get("also_layers") or []):
            raise ValueError(f"SentenceEmbeddingFeaturizer: also_layers must be 1 to {layers - 1}")

    @staticmethod
    def required_packages() -> List[Text]:
        return ["tokenizers", "safetensors", "onnx", "onnxruntime"]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.layers = int(config.get("layers") or 6)
        self.encoder = MiniLM.load(
            layers=self.layers,
            also=tuple(int(n) for n in config.get("also_layers") or []),
            quantized=bool(config.get("quantized")),
        )

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def _featurize(self, messages: List[Message], cached: bool) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        # the words as the customer meant them where bot/nlu/spelling.py corrected any
        texts = [m.get(SPELLED_TEXT) or m.get(TEXT) for m in todo]
        if not texts:
            return
        vectors = _CACHE.get_many(self.encoder, texts) if cached else self.encoder.encode(texts)
        for message, vector in zip(todo, vectors):
            self.add_features_to_message(sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message)

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages, cached=False)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, cached=True)
        return training_data
