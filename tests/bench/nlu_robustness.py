"""NLU robustness to the way people type, and what NLU costs (issue 19's measurement targets).

Robustness, on our own examples held back from training:
* About 15 % of nlu_data's intent examples are held back, chosen per intent (faq/hours is its own)
  by a hash of the example's normal form (tests/nlu_data/examples.py), so the split is the same on
  every run and the examples that differ only in case or punctuation go to the same side. No
  intent keeps fewer than MIN_LEFT examples, and no block of examples is emptied.
* The rest is written to a temporary copy of nlu_data (every file, with the held-back example
  lines dropped and everything else as it is: annotations, synonyms, regexes, lookups), and an
  NLU-only model is trained on it with config.yml and bot/domain (`rasa train nlu`).
* Each held-back text is parsed clean and in four variants (tests/bench/perturb.py, seed SEED):
  typos (one or two character edits in words of 4+ letters; numbers, invoice numbers and emails
  untouched), lower (lower case), nopunct (punctuation removed), expanded (contractions expanded).
  Correct: the predicted intent (nlu_fallback counts as out_of_scope) is the example's intent,
  with faq/* read as faq (the classifier's retrieval intent).
* nlu_robustness_clean_accuracy, nlu_robustness_<variant>_accuracy, nlu_robustness_ratio_<variant>
  (variant / clean), nlu_robustness_min_ratio (the worst; target >= 0.95). Every variant is scored
  on all held-back texts, the unchanged ones included (the counts printed say how many changed).

Cost:
* nlu_robustness_cpu_ms_p50 / _p95: process CPU ms per agent.parse_message(text) of the full
  trained model (this run's training, or BENCH_MODEL, else models/account-assistant.tar.gz from
  `make train`), over the held-back clean texts, after a warm-up with one text of each intent; the
  math libraries on one thread (bot/rasa_server/patches/thread_pools.py) and the Rasa server's
  patches applied, as `make run` starts Rasa. Target p50 <= 15 ms.
* nlu_robustness_train_s: wall seconds of the NLU-only training above (no dialogue policies), from
  scratch with an empty Rasa cache, on whatever else the machine is doing. Target <= 300 s.

The cost figures carry this benchmark's prefix: a figure named nlu_... would belong to the `nlu`
benchmark, and its runs replace every figure of theirs. Only counts are printed, never a text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import NamedTuple

from bot.rasa_server.patches.thread_pools import ONE_THREAD
from tests.nlu_data.examples import ANNOTATION, examples, normal_form

from . import Figures, benchmark, run_parts
from .perturb import VARIANTS
from .rasa_env import RASA, RASA_PY, RASA_SIDE, ROOT, TRAIN_TIMEOUT_S, our_model, run, tmp_dir, trained
from .stats import p50_p95

NLU_DATA = ROOT / "nlu_data"
BUILT_MODEL = ROOT / "models" / "account-assistant.tar.gz"
TRAIN_INPUTS = ("config.yml", "bot/domain/*.yml", "nlu_data/*.yml", "stories/*.yml", "bot/nlu/*.py")  # Makefile's
HOLD_BACK = 0.15
MIN_LEFT = 10
SEED = 19
PARSE_TIMEOUT_S = 1800
TARGET_RATIO, TARGET_CPU_MS, TARGET_TRAIN_S = 0.95, 15.0, 300.0
OOS = "out_of_scope"

ITEM = re.compile(r"^\s*- (\w+):\s*(.*?)\s*$")  # "  - intent: greet", "  - synonym: x"
EXAMPLE = re.compile(r"^(\s+)- (.*)$")


class Line(NamedTuple):
    file: str
    number: int  # 0-based line in the file
    intent: str
    text: str  # without annotations, as tests/nlu_data/examples.py reads it


def _example_lines() -> list[Line]:
    """Every intent example line of nlu_data, found line by line (so it can be dropped from a copy).

    Checked against the YAML reading of tests/nlu_data/examples.py: the same examples in the same order.
    """
    lines = []
    for path in sorted(NLU_DATA.glob("*.yml")):
        intent, item_indent = None, -1
        for number, line in enumerate(path.read_text().splitlines()):
            if (item := ITEM.match(line)) and len(line) - len(line.lstrip()) <= max(item_indent, 2):
                item_indent = len(line) - len(line.lstrip())
                intent = item.group(2) if item.group(1) == "intent" else None
            elif intent and (example := EXAMPLE.match(line)) and len(example.group(1)) > item_indent + 2:
                text = ANNOTATION.sub(r"\1", example.group(2).strip()).strip()
                lines.append(Line(path.name, number, intent, text))
    read = [(e.file, e.intent, e.text) for e in examples()]
    if [(x.file, x.intent, x.text) for x in lines] != read:
        raise RuntimeError("nlu_data's layout is not what nlu_robustness reads line by line: update _example_lines")
    return lines


def _rank(text: str) -> str:
    return hashlib.sha256(f"{SEED}\0{normal_form(text)}".encode()).hexdigest()


def split(lines: list[Line]) -> list[Line]:
    """The held-back lines: per intent, whole normal forms in hash order, up to HOLD_BACK of it."""
    by_intent: dict[str, dict[str, list[Line]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        by_intent[line.intent][normal_form(line.text)].append(line)
    left_in_block = Counter((line.file, line.intent) for line in lines)
    held: list[Line] = []
    for forms in by_intent.values():
        total = sum(map(len, forms.values()))
        quota = min(round(HOLD_BACK * total), total - MIN_LEFT)
        taken = 0
        for form in sorted(forms, key=_rank):
            group = forms[form]
            blocks = Counter((line.file, line.intent) for line in group)
            if taken + len(group) > quota or any(left_in_block[b] <= n for b, n in blocks.items()):
                continue
            taken += len(group)
            left_in_block.subtract(blocks)
            held.extend(group)
    return held


def _write_training_data(held: list[Line], out: Path) -> None:
    drop = defaultdict(set)
    for line in held:
        drop[line.file].add(line.number)
    out.mkdir(parents=True)
    for path in sorted(NLU_DATA.glob("*.yml")):
        kept = [line for n, line in enumerate(path.read_text().splitlines()) if n not in drop[path.name]]
        (out / path.name).write_text("\n".join(kept) + "\n")


def _gold(intent: str) -> str:
    return intent.split("/")[0]


def _pred(intent: str) -> str:
    return OOS if intent in ("nlu_fallback", "") else intent


def _parse(model: Path, texts: list[str], work: Path) -> dict[str, str]:
    unique = sorted(set(texts))
    (work / "texts.json").write_text(json.dumps(unique))
    run(
        [RASA_PY, RASA_SIDE, "parse", model, work / "texts.json", work / "predictions.json"],
        log=work / "parse.log",
        timeout=PARSE_TIMEOUT_S,
        **ONE_THREAD,
    )
    predictions = json.loads((work / "predictions.json").read_text())["predictions"]
    return {text: p["intent"] for text, p in zip(unique, predictions, strict=True)}


def _ratio(value: float, clean: float) -> float:
    return round(value / clean, 4) if clean else float("nan")


def robustness(held: list[Line]) -> Figures:
    work = tmp_dir("robust-")
    _write_training_data(held, work / "nlu")
    print(f"  training an NLU-only model without them (rasa train nlu, empty cache) into {work} ...", flush=True)
    seconds = run(
        [
            RASA,
            "train",
            "nlu",
            "--config",
            "config.yml",
            "--domain",
            "bot/domain",
            "--nlu",
            work / "nlu",
            "--out",
            work / "model",
            "--fixed-model-name",
            "robustness",
        ],
        log=work / "train.log",
        timeout=TRAIN_TIMEOUT_S,
        RASA_CACHE_DIRECTORY=str(work / "cache"),
    )
    model = work / "model" / "robustness.tar.gz"
    if not model.is_file():
        raise RuntimeError(f"rasa train nlu wrote no model; log {work / 'train.log'}")
    shutil.rmtree(work / "cache", ignore_errors=True)
    target = "met" if seconds <= TARGET_TRAIN_S else "MISSED"
    print(f"  NLU-only training: {seconds:.0f} s wall (target <= {TARGET_TRAIN_S:.0f} s: {target})", flush=True)

    clean = [line.text for line in held]
    variants = {name: [perturb(text, SEED) for text in clean] for name, perturb in VARIANTS.items()}
    texts = clean + [text for texts in variants.values() for text in texts]
    print(f"  parsing the {len(clean)} held-back texts clean and in {len(variants)} variants ...", flush=True)
    raw = _parse(model, texts, work)  # the intent as predicted, nlu_fallback included
    predicted = {text: _pred(intent) for text, intent in raw.items()}
    gold = [_gold(line.intent) for line in held]
    right = {"clean": [predicted[t] == g for t, g in zip(clean, gold, strict=True)]}
    for name, texts in variants.items():
        right[name] = [predicted[t] == g for t, g in zip(texts, gold, strict=True)]
    accuracy = {name: sum(hits) / len(hits) for name, hits in right.items()}
    figures: Figures = {"nlu_robustness_train_s": round(seconds, 1)}
    figures["nlu_robustness_clean_accuracy"] = round(accuracy["clean"], 4)
    print(f"    clean     {sum(right['clean']):4}/{len(clean)} correct ({accuracy['clean']:.3f})")
    for name, texts in variants.items():
        changed = [i for i, (t, c) in enumerate(zip(texts, clean, strict=True)) if t != c]
        lost = sum(right["clean"][i] and not right[name][i] for i in changed)
        won = sum(right[name][i] and not right["clean"][i] for i in changed)
        figures[f"nlu_robustness_{name}_accuracy"] = round(accuracy[name], 4)
        figures[f"nlu_robustness_ratio_{name}"] = ratio = _ratio(accuracy[name], accuracy["clean"])
        print(
            f"    {name:<9} {sum(right[name]):4}/{len(clean)} correct ({accuracy[name]:.3f}, ratio {ratio:.3f}); "
            f"{len(changed)} texts changed: {sum(right['clean'][i] for i in changed)} of them right clean, "
            f"{sum(right[name][i] for i in changed)} right changed ({lost} lost, {won} gained)"
        )
        if lost:
            went = Counter(
                "nlu_fallback"
                if raw[texts[i]] == "nlu_fallback"
                else "out_of_scope"
                if predicted[texts[i]] == OOS
                # a state-changing intent under its bar (bot/nlu/guard.py) is nlu_fallback too
                else "another intent"
                for i in changed
                if right["clean"][i] and not right[name][i]
            )
            print("              the lost ones went to: " + ", ".join(f"{k} {n}" for k, n in went.most_common()))
    worst = min(VARIANTS, key=lambda name: figures[f"nlu_robustness_ratio_{name}"])
    figures["nlu_robustness_min_ratio"] = figures[f"nlu_robustness_ratio_{worst}"]
    target = "met" if figures["nlu_robustness_min_ratio"] >= TARGET_RATIO else "MISSED"
    print(
        f"  worst variant: {worst}, ratio {figures['nlu_robustness_min_ratio']:.3f} "
        f"(target >= {TARGET_RATIO}: {target})",
        flush=True,
    )
    for path in work.glob("*.json"):
        path.unlink()
    return figures


def _cost_model() -> Path:
    """This run's model or BENCH_MODEL if there is one, else `make train`'s, else train one now."""
    if trained() or os.environ.get("BENCH_MODEL") or not BUILT_MODEL.is_file():
        return our_model()
    built = BUILT_MODEL.stat().st_mtime
    newer = [p for pattern in TRAIN_INPUTS for p in ROOT.glob(pattern) if p.stat().st_mtime > built]
    note = f"; {len(newer)} training input(s) changed since it was built: run `make train`" if newer else ""
    print(f"  cost measured on {BUILT_MODEL.relative_to(ROOT)} (make train's model){note}", flush=True)
    return BUILT_MODEL


def cost(held: list[Line]) -> Figures:
    work = tmp_dir("nlu-cpu-")
    texts = [line.text for line in held]
    warmup = list({line.intent: line.text for line in reversed(held)}.values())
    (work / "warmup.json").write_text(json.dumps(warmup))
    (work / "texts.json").write_text(json.dumps(texts))
    model = _cost_model()
    print(
        f"  CPU per message of the full model: {len(texts)} held-back texts after {len(warmup)} warm-up parses, "
        "one thread per math library ...",
        flush=True,
    )
    run(
        [RASA_PY, RASA_SIDE, "cpu", model, work / "warmup.json", work / "texts.json", work / "out.json"],
        log=work / "cpu.log",
        timeout=PARSE_TIMEOUT_S,
        **ONE_THREAD,
    )
    out = json.loads((work / "out.json").read_text())
    for path in work.glob("*.json"):
        path.unlink()
    figures = p50_p95("nlu_robustness_cpu_ms", [cpu for cpu, _ in out["times"]])
    wall = p50_p95("wall", [wall for _, wall in out["times"]])
    target = "met" if figures["nlu_robustness_cpu_ms_p50"] <= TARGET_CPU_MS else "MISSED"
    print(
        f"  CPU ms per message p50 {figures['nlu_robustness_cpu_ms_p50']}, p95 {figures['nlu_robustness_cpu_ms_p95']} "
        f"(target p50 <= {TARGET_CPU_MS:.0f} ms: {target}); wall p50 {wall['wall_p50']}, p95 {wall['wall_p95']}; "
        f"patches applied: {', '.join(out['patches']) or 'none'}",
        flush=True,
    )
    return figures


@benchmark("nlu_robustness")
def run_robustness() -> Figures:
    lines = _example_lines()
    held = split(lines)
    per_intent = Counter(line.intent for line in lines)
    left = per_intent - Counter(line.intent for line in held)
    print(
        f"  {len(held)} of {len(lines)} examples held back ({len(held) / len(lines):.1%}), from "
        f"{len({line.intent for line in held})} of {len(per_intent)} intents; fewest left to an intent: "
        f"{min(left.values())}",
        flush=True,
    )
    return run_parts({"robustness": lambda: robustness(held), "cost": lambda: cost(held)}, width=40)
