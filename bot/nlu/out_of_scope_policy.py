"""Which lines may be out-of-scope training examples: the policy at the head of
nlu_data/out_of_scope.yml, as a rule (pure Python, no Rasa).

Paying, owing, pricing, buying more of, upgrading, renewing or cancelling a bill, plan, subscription,
membership, storage or seats is read as a request to us, even when it names another company
("upgrade my linkedin to premium"): someone writing it in our chat almost always means their account
with us, and every change is quoted and confirmed before it happens. An out-of-scope example that
says it anyway teaches the model that any unfamiliar product name turns a billing request into
"not something I do". What may stay are the objects that are never an account's plan: a newsletter
or blog, a flight seat, a holiday package, a driving or TV licence, seats for a school play.

tests/nlu_data/test_out_of_scope_policy.py holds nlu_data/ to it; the staff console's review inbox
(bot/console/data/review.py) keeps such lines out of the reviewed-data file when a reviewer marks
them out of scope.
"""

from __future__ import annotations

import re

ASKS = re.compile(
    r"\b(pay|paying|owe|how much|price|pricing|cost|quote|upgrade|downgrade|renew|cancel|buy more|buy extra|add more)\b"
)
PLAN = re.compile(
    r"\b(bills?|plans?|subscriptions?|membership|premium|storage|seats?|licen[cs]es?|tier|contract|insurance)\b"
)
NEVER_AN_ACCOUNT = re.compile(
    r"\b(newsletter|blog|mailing list|flight|vacation|holiday|driving licen[cs]e|tv licen[cs]e|school play)\b"
)


def asks_about_a_plan(text: str) -> bool:
    """Whether ``text`` pays, prices or changes a plan (and so is never an out-of-scope example)."""
    text = text.casefold()
    return bool(ASKS.search(text) and PLAN.search(text) and not NEVER_AN_ACCOUNT.search(text))
