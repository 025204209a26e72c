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
