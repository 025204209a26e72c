"""The console's side of tests/rasa_env/test_reviewed_data.py, run in the app environment (the
console's code needs it) by that test in the Rasa environment:

- ``python -m tests.console.review.scenario label FOLDER``: a copy of nlu_data/ in FOLDER, a SQLite
  console index with customer messages as the indexer writes them, labels through ``Review.label``;
  prints {"reviewed": path, "expected": [[intent, line], ...]};
- ``python -m tests.console.review.scenario save-test FOLDER TRACKER_DB``: indexes the user events of
  conversation "wv-rasa" from Rasa's own SQLite tracker store (TRACKER_DB, written by Rasa) into a
  console index, labels its second message ``out_of_scope``, and saves the conversation through
  ``Review.save_test``; prints {"path": path}.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from bot.console.data.review import Review
from bot.console.data.tables import messages, metadata
from tests.console.review.inbox import ROOT, project

LABELS = {
    "add_licenses": ["we need to add 4 licences for analytics", "another 2 seats on the dialer please"],
    "out_of_scope": ["can you recommend a good pizza place near the office"],
    "faq/where_is_account": ["where in the app do i handle our licences and bills"],
}


def inbox(folder: Path, tracker_url: str | None = None) -> Review:
    console = create_engine(f"sqlite:///{folder / 'console.sqlite3'}")
    metadata.create_all(console)
    return Review(
        console,
        reviewed_file=project(folder),
        tests_dir=folder / "conversations",
        domain_dir=ROOT / "bot" / "domain",
        tracker_engine=create_engine(tracker_url) if tracker_url else None,
        dev_dir=ROOT / "nlu_dev",
        eval_fingerprints=ROOT / "tests" / "nlu_data" / "eval_fingerprints.txt",
    )


def label(folder: Path) -> dict[str, object]:
    review = inbox(folder)
    at = datetime.now(timezone.utc)
    for n, (intent, texts) in enumerate(LABELS.items()):
        with review.engine.begin() as conn:
            ids = [
                conn.execute(
                    insert(messages)
                    .values(sender=f"wv-{n}", event_id=100 * n + i, at=at, channel="widget", text=t, review="fallback")
                    .returning(messages.c.id)
                ).scalar_one()
                for i, t in enumerate(texts)
            ]
        review.label(ids, intent, "rita@vendor.example")
    return {"reviewed": str(review.file.path), "expected": [[i, t] for i, texts in LABELS.items() for t in texts]}


def save_test(folder: Path, tracker_db: str) -> dict[str, object]:
    review = inbox(folder, f"sqlite:///{tracker_db}")
    assert review.tracker is not None
    with review.tracker.connect() as conn:
        users = conn.execute(
            text(
                "SELECT id, timestamp, data FROM events WHERE sender_id = 'wv-rasa' AND type_name = 'user' ORDER BY id"
            )
        ).all()
    with review.engine.begin() as conn:
        ids = [
            conn.execute(
                insert(messages)
                .values(
                    sender="wv-rasa",
                    event_id=row.id,
                    at=datetime.fromtimestamp(row.timestamp, timezone.utc),
                    channel="widget",
                    text=json.loads(row.data)["text"],
                )
                .returning(messages.c.id)
            ).scalar_one()
            for row in users
        ]
    review.label([ids[1]], "out_of_scope", "rita@vendor.example")
    return {"path": review.save_test("wv-rasa", "saved from the console", "rita@vendor.example")}


if __name__ == "__main__":
    command, folder, *rest = sys.argv[1:]
    if command == "label":
        print(json.dumps(label(Path(folder))))
    else:
        print(json.dumps(save_test(Path(folder), *rest)))
