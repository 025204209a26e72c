"""Bench helpers that need the Rasa environment; run as a script by .venv/rasa/bin/python.

python rasa_side.py parse MODEL TEXTS.json OUT.json
    TEXTS.json: a list of strings. OUT.json: {"predictions": [{"intent": str, "confidence": float}],
    "parse_seconds": float} (the parse loop alone, model loading excluded).
python rasa_side.py cpu MODEL WARMUP.json TEXTS.json OUT.json
    Per message, the process CPU and wall ms of agent.parse_message(text), after parsing every
    WARMUP text once (not timed), with the Rasa server's patches applied (bot/rasa_server/patches)
    and its logging set up, as `make run` starts Rasa. The caller limits the math libraries to one thread (environment).
    OUT.json: {"times": [[cpu_ms, wall_ms], ...], "patches": [applied patch names]}.
python rasa_side.py encoder TEXTS.json OUT.json
    Per message, encode([text]) with bot/nlu/minilm.py (ONNX Runtime) and with the TensorFlow
    reference it replaced (tests/rasa_env/minilm_tensorflow.py), interleaved, after a warm-up.
    And the int8 engine config.yml runs (MiniLM.load(quantized=True)), with each message's cosine
    to the float32 vector. OUT.json: {"onnx": [[cpu_ms, wall_ms], ...], "tensorflow": [...],
    "int8": [...], "max_abs_diff": float, "int8_cosines": [float, ...]}.
python rasa_side.py examples FOLDER OUT.json
    Every intent example of FOLDER/*.yml (Rasa's loader), as [[text, intent, file stem], ...]; a
    retrieval intent's examples keep their full name (faq/hours).
python rasa_side.py memory MODEL OUT.json
    The resident MB after the imports `make run`'s Rasa makes (patches applied), what loading the model adds per
    component of its graph, and the total. OUT.json: {"imports": mb, "nodes": {class name: mb}, "loaded": mb}.
python rasa_side.py confusion MATRIX.json OUT.png
    MATRIX.json: {"labels": [...], "matrix": [[count, ...], ...] (rows = true), "title": str}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path


async def _parse(model: str, texts: list[str]) -> dict:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    out = []
    if texts:
        await agent.parse_message(texts[0])  # warm-up, not timed
    started = time.perf_counter()
    for text in texts:
        intent = (await agent.parse_message(text)).get("intent") or {}
        out.append({"intent": intent.get("name") or "", "confidence": float(intent.get("confidence") or 0.0)})
    return {"predictions": out, "parse_seconds": time.perf_counter() - started}


def parse(model: str, texts_path: str, out_path: str) -> None:
    texts = json.loads(Path(texts_path).read_text())
    Path(out_path).write_text(json.dumps(asyncio.run(_parse(model, texts))))


async def _cpu(model: str, warmup: list[str], texts: list[str]) -> list[list[float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for text in warmup:
        await agent.parse_message(text)
    times = []
    for text in texts:
        cpu, wall = time.process_time(), time.perf_counter()
        await agent.parse_message(text)
        times.append([(time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000])
    return times


def cpu(model: str, warmup_path: str, texts_path: str, out_path: str) -> None:
    from rasa.utils.log_utils import configure_structlog

    from bot.rasa_server import patches

    configure_structlog()  # as `rasa run` does (INFO unless LOG_LEVEL); unconfigured, it renders every debug line
    applied = patches.apply()
    warmup, texts = (json.loads(Path(p).read_text()) for p in (warmup_path, texts_path))
    Path(out_path).write_text(json.dumps({"times": asyncio.run(_cpu(model, warmup, texts)), "patches": applied}))


def encoder(texts_path: str, out_path: str) -> None:
    import numpy as np

    from bot.nlu.minilm import MiniLM, model_dir, read_model
    from tests.rasa_env.minilm_tensorflow import TensorFlowMiniLM

    texts = json.loads(Path(texts_path).read_text())
    engines = {
        "onnx": MiniLM.load(),
        "tensorflow": TensorFlowMiniLM(*read_model(model_dir())),
        "int8": MiniLM.load(quantized=True),
    }
    for engine in engines.values():
        for text in texts[:20]:
            engine.encode([text])  # warm-up, not timed
    times: dict[str, list[list[float]]] = {name: [] for name in engines}
    worst, cosines = 0.0, []
    for text in texts:
        vectors = []
        for name, engine in engines.items():
            cpu, wall = time.process_time(), time.perf_counter()
            vectors.append(engine.encode([text])[0])
            times[name].append([(time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000])
        worst = max(worst, float(np.abs(vectors[0] - vectors[1]).max()))
        cosines.append(float(vectors[0] @ vectors[2]))
    Path(out_path).write_text(json.dumps({**times, "max_abs_diff": worst, "int8_cosines": cosines}))


def examples(folder: str, out_path: str) -> None:
    from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    rows = [
        [m.get(TEXT), m.get(INTENT_RESPONSE_KEY) or m.get(INTENT), path.stem]
        for path in sorted(Path(folder).glob("*.yml"))
        for m in load_data(str(path)).intent_examples
    ]
    Path(out_path).write_text(json.dumps(rows))


def confusion(matrix_path: str, out_path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    spec = json.loads(Path(matrix_path).read_text())
    labels, counts = spec["labels"], np.array(spec["matrix"], dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = max(6.0, 0.42 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), [f"{label} ({int(n)})" for label, n in zip(labels, rows[:, 0])], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (rows)")
    ax.set_title(spec.get("title", ""), fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    int(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    fig.colorbar(image, ax=ax, fraction=0.04, label="share of the row")
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)


def memory(model: str, out_path: str) -> None:
    """What loading the model adds to the process's resident memory, node by node of Rasa's graph,
    after the imports (Rasa, TensorFlow, the patches) as `make run` starts Rasa."""
    import os

    from bot.rasa_server.patches import thread_pools

    thread_pools.apply(os.environ)  # as bot/rasa_server/run.py does, before numpy is imported
    import rasa.engine.graph as graph

    from bot.rasa_server import patches

    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    patches.apply()
    from rasa.core.agent import Agent

    imported = rss_mb()
    nodes: dict[str, float] = {}
    original = graph.GraphNode.__init__

    def init(self: graph.GraphNode, node_name: str, *args: object, **kwargs: object) -> None:
        before = rss_mb()
        original(self, node_name, *args, **kwargs)
        nodes[type(self._component).__name__] = nodes.get(type(self._component).__name__, 0.0) + rss_mb() - before

    graph.GraphNode.__init__ = init  # type: ignore[method-assign]
    Agent.load(model)
    Path(out_path).write_text(json.dumps({"imports": imported, "nodes": nodes, "loaded": rss_mb()}))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    command, *args = sys.argv[1:]
    commands = {
        "parse": parse,
        "cpu": cpu,
        "encoder": encoder,
        "examples": examples,
        "confusion": confusion,
        "memory": memory,
    }
    commands[command](*args)
