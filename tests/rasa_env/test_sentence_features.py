"""The MiniLM sentence encoder (bot/nlu/minilm.py) and the Rasa featurizer that puts it beside the sparse features.

The encoder is checked against what the model is known for: paraphrases land close together and
unrelated requests far apart, so a customer's own wording of a request finds the right intent.
"""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.minilm import MiniLM
from bot.nlu.sentence_features import SentenceEmbeddingFeaturizer


@pytest.fixture(scope="module")
def encoder() -> MiniLM:
    return MiniLM.load()


def test_vectors_are_unit_length_and_batch_independent(encoder):
    texts = ["add 5 licenses", "could you please send me a copy of the invoice from last month", "hi"]
    together = encoder.encode(texts)
    assert together.shape == (3, 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.stack([encoder.encode([t])[0] for t in texts])  # padding in a batch changes nothing
    assert np.allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize(
    "text, paraphrase, unrelated",
    [
        ("what is my balance", "how much do I owe you", "book a table for two tonight"),
        ("I want to pay my bill", "let me settle the outstanding invoice", "what's the weather in Paris"),
        ("I need to talk to a person", "can I speak with a human agent", "add bread to my shopping list"),
        ("how much does the enterprise edition cost", "what's the price of your top plan", "cancel my flight"),
    ],
)
def test_paraphrases_are_closer_than_unrelated_requests(encoder, text, paraphrase, unrelated):
    a, b, c = encoder.encode([text, paraphrase, unrelated])
    assert float(a @ b) > float(a @ c) + 0.2


def test_featurizer_adds_a_dense_sentence_feature_and_nothing_else():
    featurizer = SentenceEmbeddingFeaturizer({**SentenceEmbeddingFeaturizer.get_default_config()}, "sentence")
    messages = [Message(data={TEXT: "send me the last invoice"}), Message(data={TEXT: ""})]
    featurizer.process(messages)
    sequence, sentence = messages[0].get_dense_features(TEXT)
    assert sequence is None
    assert sentence.features.shape == (1, 384)
    assert np.allclose(sentence.features[0], MiniLM.load().encode(["send me the last invoice"])[0], atol=1e-6)
    assert messages[1].get_dense_features(TEXT) == (None, None)  # an empty text gets no feature


def test_training_examples_are_featurized():
    featurizer = SentenceEmbeddingFeaturizer({**SentenceEmbeddingFeaturizer.get_default_config()}, "sentence")
    data = TrainingData(
        [
            Message(data={TEXT: "add 5 licenses", "intent": "add_licenses"}),
            Message(data={TEXT: "hello", "intent": "greet"}),
        ]
    )
    featurizer.process_training_data(data)
    assert all(m.get_dense_features(TEXT)[1].features.shape == (1, 384) for m in data.training_examples)


def test_also_layers_add_an_earlier_layers_mean_to_the_sentence_feature():
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "also_layers": [3]}
    featurizer = SentenceEmbeddingFeaturizer(config, "sentence")
    messages = [Message(data={TEXT: "send me the last invoice"})]
    featurizer.process(messages)
    _, sentence = messages[0].get_dense_features(TEXT)
    assert sentence.features.shape == (1, 768)
    assert np.allclose(
        sentence.features[0, 384:], MiniLM.load(layers=3).encode(["send me the last invoice"])[0], atol=1e-5
    )
    # the training cache, which already holds this text's last-layer vector, keeps the kinds apart
    plain = SentenceEmbeddingFeaturizer({**SentenceEmbeddingFeaturizer.get_default_config()}, "plain")
    plain.process_training_data(TrainingData([Message(data={TEXT: "send me the last invoice", "intent": "x"})]))
    data = TrainingData([Message(data={TEXT: "send me the last invoice", "intent": "get_invoice"})])
    featurizer.process_training_data(data)
    assert np.allclose(data.training_examples[0].get_dense_features(TEXT)[1].features, sentence.features, atol=1e-6)
    with pytest.raises(ValueError, match="also_layers"):
        SentenceEmbeddingFeaturizer.validate_config({**config, "also_layers": [6]})


def test_quantized_config_runs_the_int8_encoder_and_keeps_training_and_run_time_vectors_apart():
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "also_layers": [3]}
    exact = SentenceEmbeddingFeaturizer(config, "exact")
    int8 = SentenceEmbeddingFeaturizer({**config, "quantized": True}, "int8")
    assert int8.encoder.quantized and not exact.encoder.quantized
    texts = ["add five seats to our plan please", "um hi, yeah so where's my last invoice"]
    # Training examples go through the shared cache: the int8 featurizer must not be handed the
    # float32 vectors cached for the same texts, nor the other way round.
    exact.process_training_data(TrainingData([Message(data={TEXT: t}) for t in texts]))
    trained = TrainingData([Message(data={TEXT: t}) for t in texts])
    int8.process_training_data(trained)
    at_run_time = int8.process([Message(data={TEXT: t}) for t in texts])
    for example, message in zip(trained.training_examples, at_run_time):
        cached = example.get_dense_features(TEXT)[1].features
        fresh = message.get_dense_features(TEXT)[1].features
        assert np.allclose(cached, fresh, atol=1e-5)
    float_vector = exact.encoder.encode(texts[:1])[0]
    int8_vector = int8.encoder.encode(texts[:1])[0]
    assert not np.array_equal(float_vector, int8_vector)
    assert float(float_vector[:384] @ int8_vector[:384]) > 0.99
