"""No training example is a line of the external evaluation set (../shared/eval).

The evaluation set is public people's phrasings, kept to measure how the NLU does on what nobody
here wrote; a training line equal to one of them (after lower-casing and dropping punctuation and
spaces) makes that measure worthless. The set lives outside the repository: BENCH_EVAL_DIR, else
../shared/eval beside the checkout. Where it is absent (a clone elsewhere), the check runs against
eval_fingerprints.txt, the SHA-256 of each line's normal form, so it never silently stops; the
fingerprints are refreshed with `python -m tests.nlu_data.fingerprints` and checked against the
set wherever it is present.
"""

from __future__ import annotations

import pytest

from .examples import examples, normal_form
from .fingerprints import EVAL_DIR, FINGERPRINTS, eval_lines, fingerprint, stored_fingerprints


def test_the_loader_reads_every_file_and_strips_annotations() -> None:
    found = list(examples())
    assert len(found) > 3000
    assert {e.file for e in found} >= {"licenses.yml", "invoices.yml", "out_of_scope.yml"}
    assert not [e for e in found if "](" in e.text or "]{" in e.text]


def test_normal_form_ignores_case_punctuation_and_spaces() -> None:
    assert normal_form("Send me INV-1042, please!") == normal_form("send me inv 1042 please")
    assert normal_form("add 5 seats") != normal_form("add 6 seats")


def test_no_training_example_is_an_evaluation_line() -> None:
    known = stored_fingerprints()
    assert known, f"{FINGERPRINTS} is empty: run python -m tests.nlu_data.fingerprints"
    clashes = sorted({f"{e.file}: {e.intent}" for e in examples() if fingerprint(e.text) in known})
    assert not clashes, f"training examples equal to evaluation lines (rewrite them): {clashes}"


def test_fingerprints_cover_the_evaluation_set_where_it_is_present() -> None:
    if not EVAL_DIR.is_dir():
        pytest.skip(f"no evaluation set at {EVAL_DIR}: the stored fingerprints stand in for it")
    lines = list(eval_lines())
    assert lines, f"{EVAL_DIR} holds no *.jsonl lines"
    assert {fingerprint(t) for t in lines} == stored_fingerprints(), (
        "eval_fingerprints.txt is out of date: run python -m tests.nlu_data.fingerprints"
    )
