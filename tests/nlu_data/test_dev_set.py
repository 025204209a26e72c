"""nlu_dev/ is the development set the NLU's settings are tuned on (nlu_dev/README.md): it only
measures anything while no line of it is trained on, and it must not be the evaluation set either."""

from __future__ import annotations

from collections import Counter

from .examples import ROOT, examples, normal_form
from .fingerprints import fingerprint, stored_fingerprints

NLU_DEV = ROOT / "nlu_dev"


def test_the_dev_set_covers_every_intent_it_tunes() -> None:
    counts = Counter(e.intent.split("/")[0] for e in examples(NLU_DEV))
    assert counts["out_of_scope"] >= 250
    assert len([i for i in counts if i != "out_of_scope"]) >= 27
    assert min(counts.values()) >= 20


def test_no_dev_line_is_a_training_example() -> None:
    trained = {normal_form(e.text) for e in examples()}
    clashes = sorted(f"{e.file}: {e.text}" for e in examples(NLU_DEV) if normal_form(e.text) in trained)
    assert not clashes, "dev lines that are training examples (rewrite or drop one of the two):\n" + "\n".join(clashes)


def test_no_dev_line_is_an_evaluation_line() -> None:
    known = stored_fingerprints()
    assert not [e.file for e in examples(NLU_DEV) if fingerprint(e.text) in known]


def test_no_dev_line_appears_twice() -> None:
    twice = [text for text, n in Counter(normal_form(e.text) for e in examples(NLU_DEV)).items() if n > 1]
    assert not twice, twice
