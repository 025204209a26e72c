"""bot/nlu/minilm.py's int8 option (MiniLM.load(quantized=True), issue 21): the 24 dense products
as ONNX Runtime MatMulNBits, 8-bit weights in blocks of 64 and int8 inputs. Its vectors stay close
to the float32 encoder's (itself checked against the TensorFlow reference in test_minilm_onnx.py),
one message at a time and in padded batches, and the same on every call.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_minilm_int8.py
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.minilm import BLOCK, MiniLM, encoder_graph, model_dir, quantized_dense, read_model
from tests.rasa_env.test_minilm_onnx import _texts

MESSAGES = [
    "add 5 licenses",
    "send me my last invoice",
    "why was I charged twice this month?",
    "can we move from Professional to Enterprise at the next renewal",
    "remove the analytics add-on from our subscription please",
    "my card ending 4242 was declined, what now",
    "hi",
    "thanks, bye",
    "I'd like to speak to someone in billing",
    "what's the weather like in Lisbon",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return MESSAGES + _texts(200, seed=23)


@pytest.fixture(scope="module")
def exact(texts) -> np.ndarray:
    return np.concatenate([MiniLM.load(also=(3,)).encode([t]) for t in texts])


@pytest.fixture(scope="module")
def int8(texts) -> np.ndarray:
    return np.concatenate([MiniLM.load(also=(3,), quantized=True).encode([t]) for t in texts])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_off_unless_asked():
    assert not MiniLM.load().quantized and not MiniLM.load(also=(3,)).quantized
    assert MiniLM.load(quantized=True).quantized
    assert MiniLM.load(quantized=True) is not MiniLM.load()


def test_close_to_float32_for_every_text(texts, exact, int8):
    assert int8.shape == exact.shape == (len(texts), 768) and int8.dtype == np.float32
    for half in (slice(0, 384), slice(384, 768)):  # the last layer's mean, then the third's
        cosines = _cosines(int8[:, half], exact[:, half])
        assert cosines.min() > 0.99, f"text {cosines.argmin()}: cosine {cosines.min():.4f}"
        assert cosines.mean() > 0.998
        assert np.allclose(np.linalg.norm(int8[:, half], axis=1), 1.0, atol=1e-5)
    assert np.abs(int8 - exact).max() > 1e-4  # it is not the float32 encoder


def test_keeps_which_messages_are_nearest(exact, int8):
    """Among the customer-like messages, each one's nearest other message is the same."""
    n = len(MESSAGES)
    similar = [v[:n, :384] @ v[:n, :384].T - 2 * np.eye(n) for v in (exact, int8)]
    assert (similar[0].argmax(axis=1) == similar[1].argmax(axis=1)).all()


def test_deterministic(texts, int8):
    again = np.concatenate([MiniLM.load(also=(3,), quantized=True).encode([t]) for t in texts])
    assert np.array_equal(again, int8)
    fresh = MiniLM(*read_model(model_dir()), also=(3,), quantized=True)  # a second session, built anew
    assert np.array_equal(np.concatenate([fresh.encode([t]) for t in texts[:40]]), int8[:40])


def test_batches_padded_as_in_training(texts, int8):
    # each input row gets its own int8 scales: padding in a batch barely moves a text's vector
    batched = MiniLM.load(also=(3,), quantized=True).encode(texts, batch_size=64)
    assert np.abs(batched - int8).max() < 1e-4
    longest = sorted(range(len(texts)), key=lambda i: -len(texts[i]))[:5]
    rows = list(range(len(MESSAGES))) + longest
    padded = MiniLM.load(also=(3,), quantized=True).encode([texts[i] for i in rows], batch_size=len(rows))
    assert np.abs(padded - int8[rows]).max() < 1e-4


def test_fewer_layers_quantized(texts):
    ours = MiniLM.load(layers=2, quantized=True).encode(texts[:40], batch_size=16)
    assert ours.shape == (40, 384)
    assert _cosines(ours, MiniLM.load(layers=2).encode(texts[:40])).min() > 0.995


def test_graph_products_are_int8_except_attention():
    weights, config, _ = read_model(model_dir())
    graph, tensors = encoder_graph(weights, config, 6, (3,), quantized=True)
    kinds = [node.op_type for node in graph.graph.node]
    assert kinds.count("MatMulNBits") == 24  # query/key/value, attention output, two feed-forward
    assert kinds.count("MatMul") == 12  # scores and their weighted values: no weights in them
    assert all(n.domain == "com.microsoft" for n in graph.graph.node if n.op_type == "MatMulNBits")
    sizes = sorted(t.nbytes for t in tensors.values() if t.dtype == np.uint8)
    assert len(sizes) == 24 and sum(sizes) == 6 * (384 * 1152 + 384 * 384 + 2 * 384 * 1536)


def test_quantized_dense_layout():
    rng = np.random.default_rng(5)
    kernel = rng.standard_normal((3 * BLOCK, 7)).astype(np.float32)
    kernel[BLOCK : 2 * BLOCK, 2] = 0.0  # an all-zero block
    integers, steps = quantized_dense(kernel)
    assert integers.shape == (7, 3, BLOCK) and integers.dtype == np.uint8
    assert steps.shape == (21,) and steps.dtype == np.float32
    # value = (byte - 128) * step, blocks of BLOCK inputs down each output column
    restored = ((integers.astype(np.float32) - 128) * steps.reshape(7, 3, 1)).reshape(7, -1).T
    # within half a step, or a whole one where +128 steps had to be cut to +127 (byte 255)
    step = np.repeat(np.abs(steps.reshape(7, 3)).T, BLOCK, axis=0)
    clipped = integers.reshape(7, -1).T == 255
    assert np.all(np.abs(restored - kernel) <= np.where(clipped, 1.0, 0.5) * step + 1e-7)
    assert np.all(restored[BLOCK : 2 * BLOCK, 2] == 0.0)
    for column in range(7):  # each block's value farthest from 0 is kept exactly
        for block in range(3):
            values = kernel[block * BLOCK : (block + 1) * BLOCK, column]
            far = np.abs(values).argmax()
            assert restored[block * BLOCK + far, column] == pytest.approx(values[far], rel=1e-6)
    with pytest.raises(ValueError, match="multiple of"):
        quantized_dense(kernel[:100])
