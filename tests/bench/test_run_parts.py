"""run_parts: every part runs, and a failing one fails the benchmark with what was measured."""

import pytest

from tests.bench import BenchFailed, run_parts


def test_a_failing_part_keeps_the_others_figures() -> None:
    def broken() -> dict[str, float]:
        raise RuntimeError("no model\nmore detail")

    with pytest.raises(BenchFailed, match=r"^broken: no model$") as failed:
        run_parts({"broken": broken, "fine": lambda: {"x_fine": 1.0}})
    assert failed.value.figures == {"x_fine": 1.0}
    assert run_parts({"fine": lambda: {"x_fine": 2.0}}) == {"x_fine": 2.0}
