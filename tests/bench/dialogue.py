"""The dialogue benchmark (issue 18): every scripted conversation of tests/dialogues/*.yml played
against a real stack (billing, action server, Rasa with this run's model, gateway channel), each on
freshly seeded data, by the same driver as `python -m tests.dialogues.driver` (the format and the
checks: tests/dialogues/README.md).

Figures: dialogue_task_success (share of scripts whose every reply check and whose billing-state
change passed; target 0.97), dialogue_wrong_actions (state changes no script asked for: an order,
payment, case, handoff, callback, email or billing change nobody requested; target 0),
dialogue_scripts, and dialogue_success_<topic> per script file. Missing either target fails the
benchmark (the figures are still recorded); the failing scripts are listed on stderr.
"""

from __future__ import annotations

import sys

from tests.dialogues.driver import run_all, summarise
from tests.dialogues.scripts import load

from . import BenchFailed, Figures, benchmark
from .rasa_env import our_model, tmp_dir

TARGET_SUCCESS, TARGET_WRONG = 0.97, 0


@benchmark("dialogue")
def run() -> Figures:
    model = our_model()
    results = run_all(load(), data_dir=tmp_dir("dialogue-"), model=model)
    figures = {f"dialogue_{name}": value for name, value in summarise(results).items()}
    for result in results:
        if not result.passed:
            print(f"  dialogue {result.id}: {result.failure}", file=sys.stderr)
    success, wrong = figures["dialogue_task_success"], figures["dialogue_wrong_actions"]
    if success < TARGET_SUCCESS or wrong > TARGET_WRONG:
        raise BenchFailed(
            f"dialogue task success {success:.3f} (target {TARGET_SUCCESS}), "
            f"wrong actions {wrong:.0f} (target {TARGET_WRONG})",
            figures,
        )
    return figures
