"""The out-of-scope examples keep the policy written at the head of nlu_data/out_of_scope.yml
(the rule and its reasons: bot/nlu/out_of_scope_policy.py, which the staff console's review inbox
applies too)."""

from __future__ import annotations

from bot.nlu.out_of_scope_policy import asks_about_a_plan

from .examples import examples


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
