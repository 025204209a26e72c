"""Rasa from the bench: the bench runs in the app environment and drives Rasa (.venv/rasa) through
subprocesses. Our model is trained once per bench process, into a temporary folder (never models/,
which `make train` owns), with an empty Rasa training cache so the time is a whole training.

Set BENCH_MODEL=<path to a .tar.gz> to reuse a trained model in the benchmarks that need one
(nlu, turn, turns) when the `train` benchmark is not part of the run. BENCH_KEEP_TMP=1 keeps the
temporary folders (models, logs) after the run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
RASA_SIDE = Path(__file__).with_name("rasa_side.py")  # helper script run by the Rasa environment
CACHE = ROOT / ".bench-cache"  # gitignored; holds the floor bot between runs
TRAIN_TIMEOUT_S = float(os.environ.get("BENCH_TRAIN_TIMEOUT_S", "1200"))

_tmp_root: Path | None = None
_ours: tuple[Path, float] | None = None  # (model, training seconds) of this process


def tmp_dir(prefix: str) -> Path:
    """A fresh folder under this process's bench temp root (removed at exit)."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = Path(tempfile.mkdtemp(prefix="aa-bench-rasa-"))
        if not os.environ.get("BENCH_KEEP_TMP"):
            atexit.register(shutil.rmtree, _tmp_root, True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_tmp_root))


def rasa_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.update(extra)
    return env


def run(argv: list[str | Path], *, log: Path, timeout: float, cwd: Path = ROOT, **env: str) -> float:
    """Run a Rasa-environment command to completion (output to `log`); return its wall time in s."""
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            cwd=cwd,
            env=rasa_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            raise RuntimeError(f"{Path(str(argv[0])).name} {argv[1]} took over {timeout:.0f} s; log {log}") from None
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{Path(str(argv[0])).name} {argv[1]} exited with {code}; log {log}:\n{tail}")
    return time.perf_counter() - started


def train_ours() -> tuple[Path, float]:
    """Train the whole model (NLU + dialogue) once per process: (model path, seconds)."""
    global _ours
    if _ours is None:
        out = tmp_dir("model-")
        print(f"  training our model into {out} ...", flush=True)
        seconds = run(
            [
                RASA,
                "train",
                "--domain",
                "bot/domain",
                "--data",
                "nlu_data",
                "stories",
                "--config",
                "config.yml",
                "--fixed-model-name",
                "account-assistant",
                "--out",
                out,
            ],
            log=out / "train.log",
            timeout=TRAIN_TIMEOUT_S,
            RASA_CACHE_DIRECTORY=str(out / "cache"),
        )
        model = out / "account-assistant.tar.gz"
        if not model.exists():
            raise RuntimeError(f"rasa train wrote no model; log {out / 'train.log'}")
        shutil.rmtree(out / "cache", ignore_errors=True)
        _ours = (model, seconds)
        print(f"  trained in {seconds:.0f} s", flush=True)
    return _ours


def trained() -> bool:
    """Whether this process has trained our model already (train_ours)."""
    return _ours is not None


def our_model() -> Path:
    """The model the nlu/turn benchmarks use: this run's training, else BENCH_MODEL, else train now."""
    if _ours is None and (given := os.environ.get("BENCH_MODEL")):
        path = Path(given)
        if not path.is_file():
            raise FileNotFoundError(f"BENCH_MODEL={given}: no such file")
        return path
    return train_ours()[0]


def rasa_version() -> str:
    out = subprocess.run(
        [str(RASA_PY), "-c", "import rasa; print(rasa.__version__)"],
        capture_output=True,
        text=True,
        env=rasa_env(),
        check=True,
        timeout=120,
    )
    return out.stdout.strip().splitlines()[-1]
