"""Every registered benchmark is a function that returns its figures: a decorator left above the
wrong function (a helper returning a list) broke `python -m tests.bench nlu` at once."""

from __future__ import annotations

import inspect

from tests.bench import REGISTRY, load_all


def test_every_benchmark_returns_figures() -> None:
    load_all()
    wrong = {
        name: inspect.signature(run).return_annotation
        for name, run in REGISTRY.items()
        if inspect.signature(run).return_annotation not in ("Figures", "dict[str, float]")
    }
    assert REGISTRY and not wrong, f"benchmarks that do not return figures: {wrong}"
