"""bot/nlu/minilm.py's ONNX Runtime encoder gives the vectors of the TensorFlow reference
(tests/rasa_env/minilm_tensorflow.py, the encoder it replaced, written independently): within
1e-5 on every component, one message at a time and in padded batches, for a few hundred texts
from a single word to past the 128-token truncation, and with fewer layers.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_minilm_onnx.py
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.nlu.minilm import MAX_TOKENS, MiniLM, model_dir, read_model
from tests.rasa_env.minilm_tensorflow import TensorFlowMiniLM

TOLERANCE = 1e-5

WORDS = (
    "add remove licenses seats invoice bill payment card quote order contract plan enterprise pro "
    "team marketing admin billing contact refund receipt subscription upgrade downgrade renew cancel "
    "please thanks hi hello why how much what when can could you me my our we the a an of for to in "
    "on last next this month quarter year annual monthly charged twice overdue unpaid human agent "
    "CARDNUMBER INV-1041 alex@example.com €49 $1,200.00 2024-03-31 Q3 ACME Müller naïve café 東京 🙂 "
    "?! ... , ; ( ) \" ' - /"
).split()


def _texts(count: int, seed: int = 11) -> list[str]:
    """Short customer-like messages and long ones (some past MAX_TOKENS), plus edge cases."""
    rng = random.Random(seed)
    texts = [
        "",
        " ",
        "hi",
        "?",
        "🙂",
        "CARDNUMBER",
        "add 5 licenses",
        "could you please send me a copy of the invoice from last month",
    ]
    while len(texts) < count:
        length = rng.choice([1, 2, 3, 5, 8, 12, 20]) if rng.random() < 0.8 else rng.randint(30, 180)
        texts.append(" ".join(rng.choice(WORDS) for _ in range(length)))
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _texts(300)


@pytest.fixture(scope="module")
def expected(texts) -> np.ndarray:
    """The reference's vectors, each text alone (no padding at all)."""
    reference = TensorFlowMiniLM(*read_model(model_dir()))
    return np.concatenate([reference.encode([t]) for t in texts])


def _assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    worst = np.abs(ours - theirs).max()
    assert worst <= TOLERANCE, f"max abs difference {worst:.2e} (row {np.abs(ours - theirs).max(axis=1).argmax()})"


def test_the_texts_span_short_messages_to_truncated_ones(texts):
    lengths = [len(e.ids) for e in MiniLM.load().tokenizer.encode_batch(texts)]
    assert min(lengths) == 2 and sum(n == MAX_TOKENS for n in lengths) >= 10
    assert sum(n <= 24 for n in lengths) >= 200


def test_one_message_at_a_time_as_at_run_time(texts, expected):
    ours = np.concatenate([MiniLM.load().encode([t]) for t in texts])
    _assert_close(ours, expected)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batches_of_64_as_in_training(texts, expected):
    _assert_close(MiniLM.load().encode(texts), expected)


def test_short_texts_padded_to_the_longest(texts, expected):
    # one batch: every text shorter than 8 words with the ten longest, padded to 128 tokens
    longest = sorted(range(len(texts)), key=lambda i: -len(texts[i]))[:10]
    rows = [i for i, t in enumerate(texts) if len(t.split()) < 8][:54] + longest
    _assert_close(MiniLM.load().encode([texts[i] for i in rows], batch_size=len(rows)), expected[rows])


def test_fewer_layers(texts):
    ours = MiniLM.load(layers=2).encode(texts[:40], batch_size=16)
    reference = TensorFlowMiniLM(*read_model(model_dir()), layers=2)
    _assert_close(ours, np.concatenate([reference.encode([t]) for t in texts[:40]]))
    assert np.abs(ours - MiniLM.load().encode(texts[:40])).max() > 0.1  # the option does cut layers


def test_an_earlier_layer_pooled_from_the_same_pass(texts):
    """also=(3,): the last layer's vectors, then the third layer's, each as a 3-layer encoder
    (itself checked against the TensorFlow reference above) gives them, each unit length."""
    both = MiniLM.load(also=(3,)).encode(texts[:40], batch_size=16)
    assert both.shape == (40, 768)
    _assert_close(both[:, :384], MiniLM.load().encode(texts[:40]))
    _assert_close(both[:, 384:], MiniLM.load(layers=3).encode(texts[:40]))
    assert np.allclose(np.linalg.norm(both[:, 384:], axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="also-pooled layers"):
        MiniLM.load(also=(6,))
