"""Slack through the gateway, on the whole running assistant with this run's model: how fast
events are acked, and how long a billing turn takes from Slack's event to the last reply posted
(tests/bench/slack_load.py says how)."""

from __future__ import annotations

from tests.bench.slack_load import run

from . import Figures, benchmark
from .rasa_env import our_model


@benchmark("slack")
def run_slack() -> Figures:
    return run(model=our_model())
