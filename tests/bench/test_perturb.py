"""tests/bench/perturb.py: the variants nlu_robustness parses (no Rasa needed)."""

from __future__ import annotations

import re

import pytest

from tests.bench import perturb
from tests.bench.__main__ import owner

SENTENCES = [
    "Can you send invoice INV-1042 to billing@example.com please?",
    "I'd like to add 5 more licenses to our Professional plan",
    "what's the balance on account 88231, and when is it due",
    "cancel the subscription for the analytics add-on",
    "hi",
    "INV-2001 INV-2002",
]


def _osa(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_typos_are_the_same_for_a_seed_and_differ_between_seeds():
    for text in SENTENCES:
        assert perturb.typos(text, 7) == perturb.typos(text, 7)
    assert [perturb.typos(t, 7) for t in SENTENCES] != [perturb.typos(t, 8) for t in SENTENCES]
    # one text's typos do not depend on what was perturbed before it
    first = perturb.typos(SENTENCES[3], 7)
    for text in SENTENCES:
        perturb.typos(text, 7)
    assert perturb.typos(SENTENCES[3], 7) == first


@pytest.mark.parametrize("seed", range(200))
def test_typos_edit_one_or_two_long_words_once_each_and_never_numbers(seed):
    for text in SENTENCES:
        typo = perturb.typos(text, seed)
        before, after = text.split(), typo.split()
        assert len(before) == len(after)
        changed = [(b, a) for b, a in zip(before, after) if b != a]
        if not any(re.search(r"[A-Za-z]{4}", word) and not re.search(r"[\d@]", word) for word in before):
            assert typo == text  # nothing long enough to touch
            continue
        assert 1 <= len(changed) <= 2
        for b, a in changed:
            assert not re.search(r"[\d@]", b), (b, a)  # numbers, invoice numbers, emails untouched
            assert _osa(b, a) == 1, (b, a)
            # the edit is inside a run of 4+ letters: the rest of the token is as it was
            for run in re.findall(r"[^A-Za-z]+", b):
                assert run in a


def test_lower_and_punctuation():
    assert perturb.lower("Send INV-1042 to Me") == "send inv-1042 to me"
    assert perturb.no_punctuation("What's my balance? It's $5.00, right!") == "Whats my balance Its $5.00 right"
    assert perturb.no_punctuation("email invoice INV-1042 to a.b@example.com, thanks.") == (
        "email invoice INV-1042 to a.b@example.com thanks"
    )
    assert perturb.no_punctuation("fine,thanks...") == "fine thanks"


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("don't cancel it", "do not cancel it"),
        ("what's my balance", "what is my balance"),
        ("I'd like a callback", "I would like a callback"),
        ("I can't log in", "I cannot log in"),
        ("Can't pay, won't pay", "Cannot pay, will not pay"),
        ("I’m locked out and it doesn’t work", "I am locked out and it does not work"),
        ("we've paid, they're late, you'll see", "we have paid, they are late, you will see"),
        ("let's upgrade", "let us upgrade"),
        ("where's the company's invoice", "where is the company's invoice"),
        ("DON'T", "DO NOT"),
        ("no contractions in INV-1042", "no contractions in INV-1042"),
    ],
)
def test_contractions_expand(text, expanded):
    assert perturb.expand_contractions(text) == expanded


def test_a_figure_belongs_to_the_longest_benchmark_name_it_starts_with():
    names = {"nlu", "nlu_robustness", "turn", "turns"}
    assert owner("nlu_robustness_min_ratio", names) == "nlu_robustness"
    assert owner("nlu_cv_intent_macro_f1", names) == "nlu"
    assert owner("turns_p50", names) == "turns"
    assert owner("billing_x", names) is None
