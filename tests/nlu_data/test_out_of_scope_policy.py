"""The out-of-scope examples keep the policy written at the head of nlu_data/out_of_scope.yml.

Paying, owing, pricing, buying more of, upgrading, renewing or cancelling a bill, plan, subscription,
membership, storage or seats is read as a request to us, even when it names another company
("upgrade my linkedin to premium"): someone writing it in our chat almost always means their account
with us, and every change is quoted and confirmed before it happens. An out-of-scope example that
says it anyway teaches the model that any unfamiliar product name turns a billing request into
"not something I do". What may stay are the objects that are never an account's plan: a newsletter
or blog, a flight seat, a holiday package, a driving or TV licence, seats for a school play.
"""

from __future__ import annotations

import re

from .examples import examples

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
    text = text.casefold()
    return bool(ASKS.search(text) and PLAN.search(text) and not NEVER_AN_ACCOUNT.search(text))


def test_the_rule_tells_a_plan_request_from_an_unrelated_one() -> None:
    assert asks_about_a_plan("upgrade my LinkedIn to premium")
    assert asks_about_a_plan("how much is the family plan at the gym")
    assert asks_about_a_plan("cancel my membership")
    assert not asks_about_a_plan("cancel my newsletter subscription")
    assert not asks_about_a_plan("upgrade my seat on the flight")
    assert not asks_about_a_plan("how much is a ticket to paris")


def test_no_out_of_scope_example_asks_to_pay_price_or_change_a_plan() -> None:
    offending = [f"{e.file}: {e.text}" for e in examples() if e.intent == "out_of_scope" and asks_about_a_plan(e.text)]
    assert not offending, "out-of-scope examples against the policy in out_of_scope.yml:\n" + "\n".join(offending)
