"""The card-number redactor (bot/nlu/cards.py): what escapes it, and what it costs per message.

* redaction_escapes: of TEXTS generated messages (seed SEED: the same set every run) holding
  redaction_cards Luhn-valid numbers of real brands, in random groupings, separators and digit
  scripts (tests/security/card_texts.py), those whose redacted form still holds a Luhn-valid
  13-19 digit sequence, read the blunt way (target 0);
* redaction_nlu_examples_changed: our own NLU examples (nlu_data/, customer messages without a
  card) that the redactor changes (target 0: it must leave dates, amounts, phone numbers alone);
* redaction_us_p50 / _p95: microseconds per message on those examples (it runs on every message,
  in the gateway and again in Rasa);
* redaction_card_us_p50: the same on the generated messages holding cards.
"""

from __future__ import annotations

import random
import timeit

from bot.nlu.cards import redact
from tests.nlu_data.examples import examples
from tests.security import card_texts

from . import BenchFailed, Figures, benchmark
from .stats import percentile

SEED = 17
TEXTS = 20_000
TIMED_CARD_TEXTS = 500


def _examples() -> list[str]:
    return [e.text for e in examples()]


def _us_per_call(texts: list[str], number: int = 50) -> list[float]:
    """Per text, the best of three timings of ``number`` calls, in microseconds per call."""
    return [min(timeit.repeat(lambda t=t: redact(t), number=number, repeat=3)) / number * 1e6 for t in texts]


@benchmark("redaction")
def run_redaction() -> Figures:
    rng = random.Random(SEED)
    generated = [card_texts.random_text(rng) for _ in range(TEXTS)]
    escaped = [text for text, _ in generated if card_texts.survivors(redact(text)[0])]
    cards = sum(len(c) for _, c in generated)
    print(f"  {TEXTS:,} generated messages holding {cards:,} cards: {len(escaped)} with a card left", flush=True)
    for text in escaped[:5]:
        print(f"    escaped: {text!r}", flush=True)
    examples = _examples()
    changed = [t for t in examples if redact(t)[1]]
    print(f"  {len(examples):,} NLU examples, {len(changed)} changed by the redactor", flush=True)
    timed = _us_per_call(examples)
    timed_cards = _us_per_call([text for text, _ in generated[:TIMED_CARD_TEXTS]])
    figures = {
        "redaction_escapes": len(escaped),
        "redaction_cards": cards,
        "redaction_nlu_examples_changed": len(changed),
        "redaction_us_p50": round(percentile(timed, 50), 2),
        "redaction_us_p95": round(percentile(timed, 95), 2),
        "redaction_card_us_p50": round(percentile(timed_cards, 50), 2),
    }
    if escaped or changed:
        raise BenchFailed(f"{len(escaped)} card(s) escaped, {len(changed)} NLU example(s) changed", figures)
    return figures
