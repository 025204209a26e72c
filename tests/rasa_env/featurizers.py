"""The pipeline's real featurizers (whitespace tokens, word counts, the MiniLM sentence embedding),
trained on a handful of examples, for tests of the components that read their features."""

from __future__ import annotations

from collections.abc import Callable

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_features import SentenceEmbeddingFeaturizer


def featurized(data: TrainingData, storage: ModelStorage, context: ExecutionContext) -> Callable[[str], Message]:
    """Trains the featurizers on ``data`` and featurizes its examples; returns text -> featurized message."""
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    counts = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("counts"), context
    )
    sentences = SentenceEmbeddingFeaturizer.create({}, storage, Resource("sentences"), context)
    tokenizer.process_training_data(data)
    counts.train(data)
    counts.process_training_data(data)
    sentences.process_training_data(data)

    def featurize(text: str) -> Message:
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        counts.process([message])
        sentences.process([message])
        return message

    return featurize
