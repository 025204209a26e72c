"""The reference the ONNX encoder is checked against: all-MiniLM-L6-v2 as a TensorFlow graph.

This was bot/nlu/minilm.py's encoder until it moved to ONNX Runtime (which takes a third to a half
of its CPU time per message). It is kept here, written independently of the ONNX graph (its own
padding, masks, attention and pooling), so that tests/rasa_env/test_minilm_onnx.py can show both
give the same vectors.

    from bot.nlu.minilm import model_dir, read_model
    reference = TensorFlowMiniLM(*read_model(model_dir()), layers=6)
    vectors = reference.encode(["add 5 licenses"])  # (1, 384), unit length
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class TensorFlowMiniLM:
    def __init__(self, weights: dict[str, np.ndarray], config: dict, tokenizer, layers: int | None = None) -> None:
        import tensorflow as tf

        self.layers = min(int(config["num_hidden_layers"]), layers or 99)
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = tokenizer
        self.dimension = int(weights["embeddings.word_embeddings.weight"].shape[1])
        # torch's Linear stores (out, in); transpose once so the forward pass is x @ W
        self.w = {
            k: tf.constant(v.T if v.ndim == 2 and k.endswith(".weight") and "embeddings" not in k else v)
            for k, v in weights.items()
            if v.dtype == np.float32
        }
        self._forward = tf.function(
            self._graph,
            input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)],
        )

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length sentence vectors, shape (len(texts), 384), float32; batches in the given order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(list(texts[start : start + batch_size]))
            length = max(len(e.ids) for e in encodings)
            ids = np.array([e.ids + [0] * (length - len(e.ids)) for e in encodings], dtype=np.int32)
            mask = np.array([[1.0] * len(e.ids) + [0.0] * (length - len(e.ids)) for e in encodings], dtype=np.float32)
            out[start : start + len(encodings)] = self._forward(ids, mask).numpy()
        return out

    def _graph(self, ids, mask):
        import tensorflow as tf

        w, eps, heads = self.w, self.eps, self.heads
        batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
        width = self.dimension
        head = width // heads

        def layer_norm(x, name):
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) * tf.math.rsqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

        x = (
            tf.gather(w["embeddings.word_embeddings.weight"], ids)
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = tf.reshape(layer_norm(x, "embeddings.LayerNorm"), [-1, width])  # (batch * length, width)
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding gets no attention
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(v, name, p=p):
                return tf.matmul(v, w[p + name + ".weight"]) + w[p + name + ".bias"]

            def split(v):
                return tf.transpose(tf.reshape(v, [batch, length, heads, head]), [0, 2, 1, 3])

            q, k, v = (split(dense(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / math.sqrt(head) + blocked, axis=-1)
            context = tf.reshape(tf.transpose(tf.matmul(scores, v), [0, 2, 1, 3]), [-1, width])
            x = layer_norm(x + dense(context, "attention.output.dense"), p + "attention.output.LayerNorm")
            inner = tf.nn.gelu(dense(x, "intermediate.dense"), approximate=False)
            x = layer_norm(x + dense(inner, "output.dense"), p + "output.LayerNorm")
        hidden = tf.reshape(x, [batch, length, width])
        summed = tf.reduce_sum(hidden * mask[:, :, None], axis=1)
        mean = summed / tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1e-9)
        return tf.math.l2_normalize(mean, axis=1, epsilon=1e-24)
