"""`python -m tests.bench [name ...]`: run the registered benchmarks (all, or those named), print
a table and merge the figures into bench-results.json at the repo root.

Each benchmark owns the figures named ``<name>_...``: a run replaces those and keeps the rest,
so running a subset leaves the other benchmarks' figures in the file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from . import REGISTRY, BenchFailed, Figures, load_all, report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench-results.json"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def dirty() -> bool:
    """Changes to tracked files other than the bench's own output (a run after a run is not dirty)."""
    own = {str(RESULTS.relative_to(ROOT)), str(report.PAGE.relative_to(ROOT))}
    lines = _git("status", "--porcelain", "--untracked-files=no").splitlines()
    return any(line.split(None, 1)[-1] not in own for line in lines if line.strip())


def meta(ran: list[str]) -> dict:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": _git("rev-parse", "HEAD") or "unknown",
        "dirty": dirty(),
        "ran": ran,
    }


_unit = report._unit


def _fmt(value: float) -> str:
    """Whole numbers as they are, ratios and rates under 10 to three decimals, the rest to one."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"


def print_table(results: dict[str, Figures]) -> None:
    rows = [(k, _fmt(v), _unit(k)) for figures in results.values() for k, v in figures.items()]
    if not rows:
        print("\n(no figures)")
        return
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    print(f"\n{'figure':<{width}}  {'value':>{vwidth}}")
    print(f"{'-' * width}  {'-' * vwidth}")
    for figures in results.values():
        for k, v in figures.items():
            print(f"{k:<{width}}  {_fmt(v):>{vwidth}} {_unit(k)}")


def owner(figure: str, names: Iterable[str]) -> str | None:
    """The benchmark a figure belongs to: the longest name it starts with (nlu_robustness_x is
    nlu_robustness's, not nlu's)."""
    return max((name for name in names if figure.startswith(name + "_")), key=len, default=None)


def merge(results: dict[str, Figures], names: Iterable[str] = ()) -> dict:
    try:
        old = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        old = {}
    known = {*names, *results}
    kept = {k: v for k, v in old.items() if k != "meta" and owner(k, known) not in results}
    figures = {**kept, **{k: v for figures in results.values() for k, v in figures.items()}}
    now = meta(list(results))
    # when and on which commit each benchmark last ran (docs/benchmarks.md says so per section)
    runs = {
        **((old.get("meta") or {}).get("runs") or {}),
        **{name: {k: now[k] for k in ("date", "commit", "dirty")} for name in results},
    }
    return {"meta": {**now, "runs": runs}, **dict(sorted(figures.items()))}


def main(argv: list[str]) -> int:
    load_all()
    names = argv or list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}", file=sys.stderr)
        return 2
    results: dict[str, Figures] = {}
    failures: list[str] = []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            figures = REGISTRY[name]()
        except BenchFailed as exc:
            figures = exc.figures
            failures.append(f"{name}: {exc}")
        except Exception as exc:
            traceback.print_exc()
            figures = {}
            failures.append(f"{name}: {exc.__class__.__name__}: {exc}")
        stray = [k for k in figures if owner(k, REGISTRY) != name]
        if stray:
            failures.append(f"{name}: figures must start with '{name}_' (and no longer name's): {', '.join(stray)}")
            figures = {k: v for k, v in figures.items() if k not in stray}
        results[name] = figures
        print(f"== {name}: {time.perf_counter() - started:.1f} s", flush=True)
    print_table(results)
    merged = merge(results, REGISTRY)
    RESULTS.write_text(json.dumps(merged, indent=2) + "\n")
    page = report.write(merged)
    print(f"\nwrote {RESULTS.relative_to(ROOT)} and {page.relative_to(ROOT)}")
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
