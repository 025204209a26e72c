"""Fingerprints of the external evaluation set's lines: `python -m tests.nlu_data.fingerprints`
writes eval_fingerprints.txt (one SHA-256 of a line's normal form per line, sorted) from
BENCH_EVAL_DIR or ../shared/eval. Only hashes are kept: the lines stay outside the repository."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from .examples import ROOT, normal_form

EVAL_DIR = Path(os.environ.get("BENCH_EVAL_DIR", ROOT.parent / "shared" / "eval"))
FINGERPRINTS = Path(__file__).with_name("eval_fingerprints.txt")


def fingerprint(text: str) -> str:
    return hashlib.sha256(normal_form(text).encode()).hexdigest()


def eval_lines(folder: Path = EVAL_DIR) -> Iterator[str]:
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)["text"]


def stored_fingerprints() -> set[str]:
    return set(FINGERPRINTS.read_text().split()) if FINGERPRINTS.exists() else set()


def main() -> None:
    prints = sorted({fingerprint(t) for t in eval_lines()})
    if not prints:
        raise SystemExit(f"no evaluation lines under {EVAL_DIR}")
    FINGERPRINTS.write_text("".join(p + "\n" for p in prints))
    print(f"{len(prints)} fingerprints from {EVAL_DIR} -> {FINGERPRINTS}")


if __name__ == "__main__":
    main()
