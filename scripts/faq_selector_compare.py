"""The FAQ selectors side by side on our own data: Rasa's ResponseSelector (as config.yml ran it until
it was replaced) and bot/nlu/linear_responses.py's LinearResponseSelector (issue 21).

Run with the Rasa environment's Python from the repository root:

    .venv/rasa/bin/python scripts/faq_selector_compare.py [--seeds 0 1] [--linear C=10,dense_weight=2 ...]

Reported per selector, on the question (faq/<question>) of messages whose intent is faq:
* 5-fold cross-validation of nlu_data's FAQ examples (stratified on the question), one line per
  fold seed: each fold's featurizers (config.yml's, from card redaction to the MiniLM embedding)
  are trained on all of nlu_data but that fold's FAQ examples, and the selectors on the rest;
* the development set's FAQ lines (nlu_dev/), everything trained on all of nlu_data;
* seconds to train on all of nlu_data, and process CPU ms to select for one message, median over
  the development lines after a warm-up (one thread, as the Rasa server runs its math libraries).
Only aggregate figures are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from encoder_compare import Stages, fresh, load_folder, training_data, unlabelled  # noqa: E402

FAQ = "faq"
# config.yml's settings for Rasa's selector before it was replaced
RASA_SETTINGS = {"random_seed": 1, "epochs": 60, "constrain_similarities": True, "retrieval_intent": FAQ}


def featurize(stages: Stages, train: Any, tests: list[Any]) -> None:
    from bot.nlu.sentence_features import SentenceEmbeddingFeaturizer

    stages.featurize(train, tests)
    sentences = stages.make(SentenceEmbeddingFeaturizer, "SentenceEmbeddingFeaturizer")
    sentences.process_training_data(train)
    sentences.process(tests)


def selectors(stages: Stages, linear: list[dict[str, float]]) -> dict[str, Any]:
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.selectors.response_selector import ResponseSelector

    from bot.nlu.linear_responses import LinearResponseSelector

    def make(cls: Any, config: dict[str, Any]) -> Any:
        stages.count += 1
        config = {**cls.get_default_config(), **config}
        return cls.create(config, stages.storage, Resource(f"selector-{stages.count}"), stages.context)

    made = {"rasa": make(ResponseSelector, RASA_SETTINGS)}
    for settings in linear:
        name = "linear " + ",".join(f"{k}={v:g}" for k, v in settings.items())
        made[name] = make(LinearResponseSelector, {"retrieval_intent": FAQ, **settings})
    return made


def asked(messages: list[Any]) -> list[Any]:
    """Copies of featurized ``messages`` as the selector sees them at run time: the intent faq."""
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    return [
        Message(data={TEXT: m.get(TEXT), INTENT: {"name": FAQ, "confidence": 1.0}}, features=list(m.features))
        for m in messages
    ]


def picked(selector: Any, message: Any) -> str:
    answer = (message.get("response_selector") or {}).get(FAQ) or {}
    return str(answer.get("response", {}).get("intent_response_key"))


def cross_validation(data: Any, linear: list[dict[str, float]], seed: int, folds: int = 5) -> dict[str, float]:
    from rasa.shared.nlu.constants import INTENT
    from sklearn.model_selection import StratifiedKFold

    faq = [m for m in data.intent_examples if m.get(INTENT) == FAQ]
    others = [m for m in data.intent_examples if m.get(INTENT) != FAQ]
    truth = [m.get_full_intent() for m in faq]
    right: dict[str, int] = {}
    for fold, (train_index, test_index) in enumerate(
        StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(faq, truth)
    ):
        stages = Stages()
        train = training_data(fresh(others + [faq[i] for i in train_index]), data)
        tests = unlabelled([faq[i] for i in test_index])
        featurize(stages, train, tests)
        for name, selector in selectors(stages, linear).items():
            selector.train(train)
            for i, message in zip(test_index, selector.process(asked(tests))):
                right[name] = right.get(name, 0) + (picked(selector, message) == truth[i])
        print(f"  seed {seed}: fold {fold + 1}/{folds} done", flush=True)
    return {name: count / len(faq) for name, count in right.items()}


def development(data: Any, dev: Any, linear: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    from rasa.shared.nlu.constants import INTENT

    lines = [m for m in dev.intent_examples if m.get(INTENT) == FAQ]
    stages = Stages()
    train = training_data(fresh(data.intent_examples), data)
    tests = unlabelled(lines)
    featurize(stages, train, tests)
    out = {}
    for name, selector in selectors(stages, linear).items():
        started = time.perf_counter()
        selector.train(train)
        seconds = time.perf_counter() - started
        answers = selector.process(asked(tests))
        accuracy = np.mean([picked(selector, m) == t.get_full_intent() for m, t in zip(answers, lines)])
        cpu = []
        for message in asked(tests) * 3:
            started = time.process_time()
            selector.process([message])
            cpu.append((time.process_time() - started) * 1000)
        out[name] = {
            "dev_accuracy": float(accuracy),
            "train_s": seconds,
            "cpu_ms_p50": float(np.median(cpu[len(tests) :])),  # the first round is the warm-up
        }
        print(f"  {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in out[name].items()), flush=True)
    print(f"  ({len(lines)} development lines)")
    return out


def settings(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (part.split("=") for part in text.split(",") if part)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--linear", nargs="*", default=[""], help="settings of the linear selector, e.g. C=30")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    linear = [settings(s) for s in args.linear]
    from rasa.shared.core.domain import Domain

    data, dev = load_folder(ROOT / "nlu_data"), load_folder(ROOT / "nlu_dev")
    data.responses = Domain.load(str(ROOT / "bot" / "domain")).responses  # the answers, as rasa train adds them
    rows = {name: figures for name, figures in development(data, dev, linear).items()}
    for seed in args.seeds:
        for name, accuracy in cross_validation(data, linear, seed).items():
            rows[name][f"cv_accuracy_seed{seed}"] = accuracy
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
