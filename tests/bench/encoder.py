"""The sentence encoder alone: what one customer message's MiniLM embedding costs.

bot/nlu/minilm.py (ONNX Runtime, one thread) against the TensorFlow reference it replaced
(tests/rasa_env/minilm_tensorflow.py), in one Rasa-environment process, message by message and
interleaved, so both see the same machine. The messages are every 10th of our own NLU examples
(about 500: short, as customers write). CPU time is the steadier figure on a shared machine.

* encoder_cpu_ms_p50 / _p95: ONNX, process CPU ms per encode([text]);
* encoder_tf_cpu_ms_p50 / _p95: the same for TensorFlow;
* encoder_wall_ms_p50: ONNX wall time per message;
* encoder_speedup: TensorFlow's median CPU over ONNX's;
* encoder_max_abs_diff: the largest difference between the two engines' vectors;
* encoder_int8_cpu_ms_p50 / _p95: the int8 engine config.yml runs (MiniLM.load(quantized=True)),
  timed in the same interleaved loop; encoder_int8_cosine_mean / _min: its vectors' cosine to the
  float32 engine's, message by message.
"""

from __future__ import annotations

import json
import re

from . import BenchFailed, Figures, benchmark
from .rasa_env import RASA_PY, RASA_SIDE, ROOT, run, tmp_dir
from .stats import p50_p95, percentile

EXAMPLE = re.compile(r"^\s+- (.+)$")
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def _messages() -> list[str]:
    examples = [
        ANNOTATION.sub(r"\1", m.group(1))
        for path in sorted((ROOT / "nlu_data").glob("*.yml"))
        for line in path.read_text().splitlines()
        if (m := EXAMPLE.match(line))
    ]
    return examples[::10]


@benchmark("encoder")
def run_encoder() -> Figures:
    work = tmp_dir("encoder-")
    texts = _messages()
    (work / "texts.json").write_text(json.dumps(texts))
    print(f"  encoding {len(texts)} messages one at a time, ONNX, TensorFlow and int8 interleaved ...", flush=True)
    run([RASA_PY, RASA_SIDE, "encoder", work / "texts.json", work / "out.json"], log=work / "encoder.log", timeout=900)
    out = json.loads((work / "out.json").read_text())
    print(f"  largest difference between the engines' vectors: {out['max_abs_diff']:.1e}", flush=True)
    onnx_cpu = [cpu for cpu, _ in out["onnx"]]
    tf_cpu = [cpu for cpu, _ in out["tensorflow"]]
    figures = {
        **p50_p95("encoder_cpu_ms", onnx_cpu),
        **p50_p95("encoder_tf_cpu_ms", tf_cpu),
        "encoder_wall_ms_p50": round(percentile([wall for _, wall in out["onnx"]], 50), 1),
        "encoder_speedup": round(percentile(tf_cpu, 50) / percentile(onnx_cpu, 50), 2),
        "encoder_max_abs_diff": out["max_abs_diff"],
        **p50_p95("encoder_int8_cpu_ms", [cpu for cpu, _ in out["int8"]]),
        "encoder_int8_cosine_mean": round(sum(out["int8_cosines"]) / len(out["int8_cosines"]), 5),
        "encoder_int8_cosine_min": round(min(out["int8_cosines"]), 5),
    }
    if out["max_abs_diff"] > 1e-5:
        raise BenchFailed(f"the engines disagree by {out['max_abs_diff']:.1e}", figures)
    return figures
