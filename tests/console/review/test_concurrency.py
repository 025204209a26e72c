"""Two console processes labelling at once (two replicas, or two reviewers), on real SQLite and
PostgreSQL: no line is lost from the reviewed-data file, and a message is labelled exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.console.review.inbox import ROOT, add_message, labels
from tests.console.review.test_labels import blocks

N = 12


def run_both(db, reviewed, jobs: list[tuple[str, list[int]]]) -> list[list[dict]]:
    start = time.time() + 4  # both have imported and read the data by then
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.console.review.labeller",
                db.url,
                str(reviewed),
                "list_invoices",
                reviewer,
                str(start),
                *map(str, ids),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for reviewer, ids in jobs
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append([json.loads(line) for line in out.splitlines()])
    return results


def test_two_processes_labelling_different_messages_lose_no_line(db, reviewed):
    mine = [add_message(db, f"show the invoices of project number {n} alpha") for n in range(N)]
    theirs = [add_message(db, f"list invoices for cost centre {n} beta") for n in range(N)]

    first, second = run_both(db, reviewed, [("rita@vendor.example", mine), ("sam@vendor.example", theirs)])

    assert [r["added"] for r in first + second] == [1] * (2 * N)
    written = blocks(reviewed)["list_invoices"]
    assert sorted(written) == sorted(
        [f"show the invoices of project number {n} alpha" for n in range(N)]
        + [f"list invoices for cost centre {n} beta" for n in range(N)]
    )
    marks = labels(db)
    assert {marks[i] for i in mine} == {("list_invoices", "rita@vendor.example")}
    assert {marks[i] for i in theirs} == {("list_invoices", "sam@vendor.example")}


def test_two_processes_labelling_the_same_messages_label_each_once(db, reviewed):
    same = [add_message(db, f"invoices from quarter {n} gamma please") for n in range(N)]

    first, second = run_both(db, reviewed, [("rita@vendor.example", same), ("sam@vendor.example", same[::-1])])

    for mid in same:
        outcomes = [r for r in first + second if r["id"] == mid]
        assert sorted("added" in r for r in outcomes) == [False, True], outcomes
        refused = next(r["refused"] for r in outcomes if "refused" in r)
        assert f"message {mid} is labelled already" in refused or "labelled some of these messages meanwhile" in refused
    assert sorted(blocks(reviewed)["list_invoices"]) == sorted(
        f"invoices from quarter {n} gamma please" for n in range(N)
    )
    assert all(labels(db)[mid][0] == "list_invoices" for mid in same)
