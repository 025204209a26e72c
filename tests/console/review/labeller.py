"""A second console process for the concurrency tests: ``python -m tests.console.review.labeller
URL REVIEWED_FILE INTENT REVIEWER START_AT ID...`` waits until the wall clock reaches START_AT, then
labels each id in its own call (as one reviewer clicking through groups) and prints one JSON
object per id: {"id": .., "added": n} or {"id": .., "refused": message}."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine

from bot.billing.adapters.db import normalise_url
from bot.console.data.api import BadLabel
from bot.console.data.review import Review

ROOT = Path(__file__).resolve().parents[3]


def main(url: str, reviewed: str, intent: str, reviewer: str, start_at: str, *ids: str) -> None:
    engine = create_engine(normalise_url(url))
    inbox = Review(
        engine,
        reviewed_file=Path(reviewed),
        tests_dir=Path(reviewed).parent,
        domain_dir=ROOT / "bot" / "domain",
        dev_dir=ROOT / "nlu_dev",
        eval_fingerprints=ROOT / "tests" / "nlu_data" / "eval_fingerprints.txt",
    )
    inbox.intents()
    inbox.nlu.known()  # read the data before the start, so that both processes race on labels only
    time.sleep(max(0.0, float(start_at) - time.time()))
    for mid in map(int, ids):
        try:
            print(json.dumps({"id": mid, "added": inbox.label([mid], intent, reviewer)}), flush=True)
        except BadLabel as exc:
            print(json.dumps({"id": mid, "refused": str(exc)}), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
