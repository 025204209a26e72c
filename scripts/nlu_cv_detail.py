"""Cross-validation figures for issue 19 on our own data: intents with the guard's settings side by
side, out-of-scope examples taken for a change, and the CRF's product F1, from one fold split.

    .venv/rasa/bin/python scripts/nlu_cv_detail.py [--seed 0] [--guard supported_threshold=0.5,supported_margin=0.1]
        [--dump /tmp/cv.json]

Built on scripts/encoder_compare.py's stages (config.yml's pipeline, the minilm+l3 sentence
feature cached in $ENCODER_CACHE). Per fold, the sparse features, the linear intent classifier and
the nearest-examples vote are trained once; each guard setting (``--guard``, repeatable; the first
is always config.yml's own) then finishes a copy of the fold's messages (CardNumberIntent,
StateChangeGuard with the setting over config.yml's, FallbackClassifier). The same fold trains
CRFEntityExtractor on the examples with the rule-owned annotations removed (as
AccountEntityExtractor does in training) and scores it token by token against every annotation,
as ``rasa test nlu`` does (tests/bench/nlu.py reads the product row of that report).

Printed per guard setting, for the CV and for nlu_dev/ (every stage trained on all of nlu_data):
* cv_macro_f1, cv_accuracy: as encoder_compare.py (nlu_fallback counts as an error);
* cv_oos_to_change: out-of-scope examples given a state-changing intent (count, of how many);
* cv_change_fallback: state-changing examples sent to nlu_fallback ("did you mean"), share;
* dev_accuracy, dev_oos_any_intent, dev_false_actions: as encoder_compare.py.
Then the CRF's per-entity F1 and its errors grouped by kind (missed, extra, wrong span), never
the texts. ``--dump`` writes each CV example's text, intent and predictions as JSON, to compare
two runs on the examples they share.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import encoder_compare as ec
import numpy as np

RULE_OWNED = ("quantity", "invoice_number", "email", "period")  # bot/nlu/entities.py OWNED
ENCODER = "minilm+l3-int8"  # config.yml's sentence feature (quantized)


def guard_setting(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (pair.split("=") for pair in text.split(",") if pair)}


def finished(stages: ec.Stages, tests: list[Any], guard: dict[str, float]) -> list[str]:
    """The intents ranked ``tests`` end with at the guard setting ``guard``, on copies of them."""
    messages = [copy.copy(m) for m in tests]
    for copied, message in zip(messages, tests):
        copied.data = copy.deepcopy(message.data)
    return stages.finish(messages, guard)


def entity_results(stages: ec.Stages, train: Any, tests: list[Any], truth: list[Any]) -> list[Any]:
    """The CRF trained on ``train`` (rule-owned annotations removed), tagging ``tests``."""
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
    from rasa.nlu.test import EntityEvaluationResult
    from rasa.shared.nlu.constants import ENTITIES, TEXT

    for example in train.training_examples:
        if example.get(ENTITIES):
            example.set(ENTITIES, [e for e in example.get(ENTITIES) if e["entity"] not in RULE_OWNED])
    crf = stages.make(CRFEntityExtractor, "CRFEntityExtractor")
    crf.train(train)
    crf.process(tests)
    return [
        EntityEvaluationResult(
            entity_targets=list(original.get(ENTITIES) or []),
            entity_predictions=list(message.get(ENTITIES) or []),
            tokens=message.get(TOKENS_NAMES[TEXT]),
            message=str(message.get(TEXT)),
        )
        for message, original in zip(tests, truth)
    ]


def intent_figures(truth: list[str], pred: list[str]) -> dict[str, float]:
    from bot.nlu.guard import STATE_CHANGING

    oos = [p for p, t in zip(pred, truth) if t == ec.OOS]
    changes = [p for p, t in zip(pred, truth) if t in STATE_CHANGING]
    return {
        "cv_macro_f1": ec.macro_f1(truth, pred),
        "cv_accuracy": float(np.mean([p == t for p, t in zip(pred, truth)])),
        "cv_oos_to_change": float(sum(p in STATE_CHANGING for p in oos)),
        "cv_oos_examples": float(len(oos)),
        "cv_change_fallback": float(np.mean([p == ec.FALLBACK for p in changes])),
    }


def dev_figures(truth: list[str], pred: list[str]) -> dict[str, float]:
    from bot.nlu.guard import STATE_CHANGING

    pred = [ec.OOS if p == ec.FALLBACK else p for p in pred]
    inside = [(p, t) for p, t in zip(pred, truth) if t != ec.OOS]
    outside = [p for p, t in zip(pred, truth) if t == ec.OOS]
    return {
        "dev_accuracy": float(np.mean([p == t for p, t in inside])),
        "dev_oos_any_intent": float(np.mean([p != ec.OOS for p in outside])),
        "dev_false_actions": float(sum(p in STATE_CHANGING for p in outside)),
        "dev_oos_lines": float(len(outside)),
    }


def entity_report(results: list[Any]) -> None:
    from rasa.nlu.test import evaluate_entities

    report = evaluate_entities(results, {"CRFEntityExtractor"}, None, False, False, True, report_as_dict=True)
    rows = report["CRFEntityExtractor"]["report"]
    for label, row in sorted(rows.items()):
        if isinstance(row, dict) and row.get("support") and label not in ec_summary():
            note = " (rule-owned: not the CRF's)" if label in RULE_OWNED else ""
            print(
                f"  entity {label}: F1 {row['f1-score']:.4f}, precision {row['precision']:.4f}, "
                f"recall {row['recall']:.4f}, {row['support']} tokens{note}"
            )
    kinds: Counter[str] = Counter()
    for result in results:
        gold = {(e["start"], e["end"]) for e in result.entity_targets if e["entity"] == "product"}
        found = {(e["start"], e["end"]) for e in result.entity_predictions if e["entity"] == "product"}
        for span in gold - found:
            overlapping = any(s < span[1] and span[0] < e for s, e in found)
            kinds["wrong span" if overlapping else "missed"] += 1
        for span in found - gold:
            if not any(s < span[1] and span[0] < e for s, e in gold):
                kinds["extra"] += 1
    print("  product errors by kind (entities): " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))


def ec_summary() -> set[str]:
    return {"accuracy", "micro avg", "macro avg", "weighted avg"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--guard", action="append", default=[], help="k=v,k=v over config.yml's StateChangeGuard")
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--no-dev", action="store_true")
    args = parser.parse_args()
    import logging

    from rasa.shared.nlu.constants import INTENT, TEXT
    from sklearn.model_selection import StratifiedKFold

    logging.basicConfig(level=logging.WARNING)
    settings = {"config.yml": {}, **{g: guard_setting(g) for g in args.guard}}
    enc = ec.encoder(ENCODER)
    ec.VECTORS[enc.name] = ec.CachedVectors(enc)
    vectors = ec.VECTORS[enc.name]
    data, dev = ec.load_folder(ec.ROOT / "nlu_data"), ec.load_folder(ec.ROOT / "nlu_dev")
    print(f"{len(data.intent_examples)} training examples, {len(dev.intent_examples)} development lines", flush=True)

    if not args.no_dev:
        stages = ec.Stages()
        train = ec.training_data(ec.fresh(data.intent_examples), data)
        tests = ec.unlabelled(dev.intent_examples)
        stages.featurize(train, tests)
        ec.set_dense(train.training_examples, vectors.get([ec.embedded_text(m) for m in train.training_examples]))
        ec.set_dense(tests, vectors.get([ec.embedded_text(m) for m in tests]))
        stages.rank(train, tests, enc)
        truth = [m.get(INTENT) for m in dev.intent_examples]
        for name, guard in settings.items():
            figures = dev_figures(truth, finished(stages, tests, guard))
            print(f"  dev, guard {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures.items()), flush=True)

    examples = data.intent_examples
    labels = [m.get(INTENT) for m in examples]
    predicted = {name: [""] * len(examples) for name in settings}
    results: list[Any] = []
    order: list[int] = []  # the example each of ``results`` is
    split = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    for fold, (train_index, test_index) in enumerate(split.split(examples, [m.get_full_intent() for m in examples])):
        stages = ec.Stages()
        train = ec.training_data(ec.fresh([examples[i] for i in train_index]), data)
        tests = ec.unlabelled([examples[i] for i in test_index])
        stages.featurize(train, tests)
        ec.set_dense(train.training_examples, vectors.get([ec.embedded_text(m) for m in train.training_examples]))
        ec.set_dense(tests, vectors.get([ec.embedded_text(m) for m in tests]))
        stages.rank(train, tests, enc)
        for name, guard in settings.items():
            for i, intent in zip(test_index, finished(stages, tests, guard)):
                predicted[name][i] = intent
        results += entity_results(stages, train, tests, [examples[i] for i in test_index])
        order += list(test_index)
        print(f"  seed {args.seed}: fold {fold + 1}/{args.folds} done", flush=True)
    for name, pred in predicted.items():
        figures = intent_figures(labels, pred)
        print(f"  CV seed {args.seed}, guard {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures.items()))
    entity_report(results)
    if args.dump:
        rows = [
            {"text": m.get(TEXT), "intent": t, **{name: pred[i] for name, pred in predicted.items()}}
            for i, (m, t) in enumerate(zip(examples, labels))
        ]
        for i, result in zip(order, results):
            rows[i]["products"] = [(e["start"], e["end"]) for e in result.entity_targets if e["entity"] == "product"]
            rows[i]["found"] = [(e["start"], e["end"]) for e in result.entity_predictions if e["entity"] == "product"]
        args.dump.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
