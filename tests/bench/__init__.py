"""`make bench`: a registry of benchmarks, each returning figures (name -> number).

A benchmark is a function registered under a short name; every figure it returns starts with
that name (``billing_...``), so a later run of the same benchmark replaces exactly its own
figures in bench-results.json and leaves the others alone. Where one name starts another's
(nlu, nlu_robustness), a figure belongs to the longest name it starts with.

    @benchmark("billing")
    def run() -> Figures: ...

A benchmark that measured but found something wrong (a lost update, failed requests) raises
``BenchFailed`` with the figures it has: they are still recorded, and the run exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable

Figures = dict[str, float]

REGISTRY: dict[str, Callable[[], Figures]] = {}


def benchmark(name: str) -> Callable[[Callable[[], Figures]], Callable[[], Figures]]:
    def register(fn: Callable[[], Figures]) -> Callable[[], Figures]:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} is registered twice")
        REGISTRY[name] = fn
        return fn

    return register


class BenchFailed(Exception):
    """Measured, but something is wrong; ``figures`` holds what was measured anyway."""

    def __init__(self, message: str, figures: Figures | None = None) -> None:
        super().__init__(message)
        self.figures = figures or {}


def run_parts(parts: dict[str, Callable[[], Figures]], width: int = 44) -> Figures:
    """Run a benchmark's parts in order, each on even if an earlier one failed; print the figures and
    raise ``BenchFailed`` with all that was measured if any part failed."""
    figures: Figures = {}
    problems = []
    for name, part in parts.items():
        try:
            figures.update(part())
        except Exception as exc:
            print(f"  {name}: FAIL: {exc}", flush=True)
            problems.append(f"{name}: {(str(exc).splitlines() or [''])[0]}")
    for figure, value in figures.items():
        print(f"  {figure:<{width}} {value:.4f}")
    if problems:
        raise BenchFailed("; ".join(problems), figures)
    return figures


def load_all() -> None:
    """Import every module that registers benchmarks (add new ones here)."""
    from . import (  # noqa: F401  (train, model, nlu; turn, turns and floor in turns)  # noqa: F401  (slack, widget)
        attacks,
        billing,
        console,
        dialogue,
        encoder,
        growth,
        handoff,
        memory,
        model,
        nlu,
        nlu_robustness,
        operations,
        patches,
        production,
        redaction,
        scale,
        slack,
        turns,
        widget,
    )
