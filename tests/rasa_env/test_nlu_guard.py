"""The state-changing intents' higher confidence bar (bot/nlu/guard.py)."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.guard import StateChangeGuard, guarded

GUARD = StateChangeGuard({"threshold": 0.7, "intents": ["pay_invoice", "cancel_subscription"]})


def parsed(intent: str, confidence: float) -> Message:
    top = {"name": intent, "confidence": confidence}
    return Message(data={"text": "x", "intent": top, "intent_ranking": [top]})


def test_an_unsure_state_changing_intent_becomes_a_fallback():
    [message] = GUARD.process([parsed("cancel_subscription", 0.62)])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("intent_ranking")[0]["name"] == "nlu_fallback"
    assert message.get("intent_ranking")[1] == {"name": "cancel_subscription", "confidence": 0.62}


def test_a_sure_one_and_read_only_intents_are_kept():
    assert GUARD.process([parsed("pay_invoice", 0.93)])[0].get("intent")["name"] == "pay_invoice"
    assert GUARD.process([parsed("check_balance", 0.40)])[0].get("intent")["name"] == "check_balance"
    assert guarded(None, {"pay_invoice"}, 0.7) is None


def test_a_message_with_no_letter_or_digit_is_never_a_yes_a_no_or_a_change():
    """ "-" or an invisible character classified as affirm (the review saw 0.69) would confirm a
    pending order: without a letter or digit in it, no confidence makes it a yes, a no or a change."""
    for text in ("-", "...", "?!", "\u200b", "\u2060\u2060", "\u00ad", "\u202e", "👍", " ", "", "—", "¯\\_(ツ)_/¯"[:2]):
        for intent in ("affirm", "deny", "pay_invoice"):
            top = {"name": intent, "confidence": 0.99}
            [message] = GUARD.process([Message(data={"text": text, "intent": top, "intent_ranking": [top]})])
            assert message.get("intent")["name"] == "nlu_fallback", (text, intent)
    for text, intent in (("yes", "affirm"), ("no", "deny"), ("ok 👍", "affirm"), ("да", "affirm"), ("1", "affirm")):
        top = {"name": intent, "confidence": 0.99}
        [message] = GUARD.process([Message(data={"text": text, "intent": top, "intent_ranking": [top]})])
        assert message.get("intent")["name"] == intent, text
    # read-only intents are not the guard's business, words or not
    top = {"name": "greet", "confidence": 0.9}
    guarded = GUARD.process([Message(data={"text": "👋", "intent": top, "intent_ranking": [top]})])
    assert guarded[0].get("intent")["name"] == "greet"


SUPPORTED = StateChangeGuard(
    {"threshold": 0.85, "intents": ["add_licenses"], "supported_threshold": 0.5, "supported_margin": 0.1}
)


def with_neighbours(intent: str, confidence: float, nearest: dict | None) -> Message:
    message = parsed(intent, confidence)
    if nearest is not None:
        message.set("nearest_examples", nearest)
    return message


def test_a_request_its_nearest_examples_back_needs_a_lower_bar():
    """ "add three seats for the new starters" at 0.6, every neighbour an add_licenses example: the
    request goes ahead (to its own confirmation); without that backing it is asked "did you mean"."""
    backed = {"intent": "add_licenses", "margin": 0.2}
    assert SUPPORTED.process([with_neighbours("add_licenses", 0.6, backed)])[0].get("intent")["name"] == "add_licenses"
    for confidence, nearest in (
        (0.6, None),  # no evidence (a model trained before the vote kept labels)
        (0.6, {"intent": "check_balance", "margin": 0.2}),  # the nearest example is another intent's
        (0.6, {"intent": "add_licenses", "margin": 0.05}),  # out-of-scope examples almost as near
        (0.45, backed),  # under the lower bar
    ):
        [message] = SUPPORTED.process([with_neighbours("add_licenses", confidence, nearest)])
        assert message.get("intent")["name"] == "nlu_fallback", (confidence, nearest)
    # not configured: the bar stays where it was
    assert (
        GUARD.process([with_neighbours("pay_invoice", 0.69, {"intent": "pay_invoice", "margin": 0.5})])[0].get(
            "intent"
        )["name"]
        == "nlu_fallback"
    )
