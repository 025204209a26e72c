"""A customer's message as a line of training data, or the reason it is not one (plain Python).

What a labelled message becomes in the reviewed-data file:
- the text as the NLU reads it: ``bot.nlu.text_hygiene.clean`` (control, invisible and unencodable
  characters out, as the gateway does before Rasa), then every run of white space (line breaks
  included: Rasa reads an ``examples: |`` block line by line) as one space. What is left is one
  line of printable characters, which a YAML literal block holds as it is, so no quoting is needed;
- square brackets as parentheses: ``[x](y)`` or ``[x]{...}`` in a message would read as an entity
  annotation;
- product names annotated (``[Analytics](product)``) where the intent is one whose examples annotate
  them (nlu_files.Known.product_intents: add_licenses, ask_pricing, buy_product...). Written plain,
  "add 5 licences to Analytics" would teach the CRF, the extractor that learns ``product``, that
  Analytics is not one. A name the data does not know cannot be annotated: that is the limit of
  doing it without a person. The rule-found entities (quantity, invoice_number, email, period) are
  left plain: bot.nlu.entities removes their annotations before the CRF trains, so a plain number
  teaches nothing wrong, and the data test that compares annotations with the rules looks only at
  annotated ones.

Not written (the message is still labelled; ``label`` counts only the lines it adds):
- ``card``: a card number, the redaction token or its "removed" mark in it. Texts are redacted
  already; ``redact_shown`` runs again, and a text it changes, like one already redacted, is not
  what the customer typed and teaches the model to expect a placeholder;
- ``payload``: a button's payload ("/affirm"), which Rasa reads without the NLU;
- ``empty``, ``long`` (over ``MAX_CHARS``: a pasted document is no phrasing to learn);
- ``known``: already a training example, under this intent or another (then the label contradicts
  the data, and writing it would make Rasa's validation fail);
- ``held_out``: a line of the development or evaluation set;
- ``policy``: marked out of scope, but it pays, prices or changes a plan, which
  nlu_data/out_of_scope.yml's policy reads as a request to us (bot/nlu/out_of_scope_policy.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.console.data.api import OUT_OF_SCOPE
from bot.console.data.grouping import normal_form
from bot.console.data.nlu_files import Known, product_finder
from bot.nlu.cards import REMOVED, TOKEN, redact_shown
from bot.nlu.extraction import find_spans
from bot.nlu.out_of_scope_policy import asks_about_a_plan
from bot.nlu.text_hygiene import clean

MAX_CHARS = 300
BRACKETS = str.maketrans("[]", "()")


@dataclass(frozen=True)
class Line:
    text: str  # as written after "- ", annotations included
    plain: str  # without annotations: what Rasa trains on as the text

    @property
    def form(self) -> str:
        return normal_form(self.plain)


def single_line(text: str) -> str:
    """``text`` cleaned as the gateway cleans a message, on one line."""
    return " ".join(clean(text).split())


def one_line(text: str) -> str:
    """``single_line`` with square brackets as parentheses (no entity annotation can hide in it)."""
    return single_line(text).translate(BRACKETS)


def training_line(text: str, intent: str, known: Known) -> Line | str:
    """The line to write for ``text`` labelled ``intent``, or why there is none (module docstring)."""
    if redact_shown(text)[1] or TOKEN in text or REMOVED in text:
        return "card"
    plain = one_line(text)
    if not plain:
        return "empty"
    if plain.startswith("/"):
        return "payload"
    if len(plain) > MAX_CHARS:
        return "long"
    if normal_form(plain) in known.trained:
        return "known"
    if known.held_back(plain):
        return "held_out"
    if intent == OUT_OF_SCOPE and asks_about_a_plan(plain):
        return "policy"
    if intent not in known.product_intents:
        return Line(plain, plain)
    return Line(annotate_products(plain, known.products), plain)


def annotate_products(text: str, products: list[str]) -> str:
    """``text`` with each known product name marked ``[name](product)``, outside the spans the rule
    extractor claims (an email such as finance@kestrel-analytics.io, an invoice number)."""
    finder = product_finder(products)
    if finder is None:
        return text
    taken = find_spans(text)
    out, last = [], 0
    for match in finder.finditer(text):
        if any(match.start() < s.end and s.start < match.end() for s in taken):
            continue
        out += [text[last : match.start()], f"[{match.group()}](product)"]
        last = match.end()
    return "".join(out) + text[last:]
