"""The nearest-examples vote for out of scope (bot/nlu/out_of_scope.py)."""

from __future__ import annotations

import asyncio

import numpy as np
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.out_of_scope import NearestExamplesOutOfScope, swapped

WIDTH = 4


def embedded(vector: list[float], intent: object = None, text: str = "x") -> Message:
    message = Message(data={"text": text, **({"intent": intent} if intent else {})})
    # the featurizer's layout: the last layer's mean first, an earlier layer's after it (ignored)
    message.features.append(Features(np.array([vector + [9.0, 9.0]]), "sentence", "text", "featurizer"))
    return message


def component(bank: list[tuple[list[float], bool]], k: int = 2) -> NearestExamplesOutOfScope:
    vectors = np.array([v for v, _ in bank], dtype=np.float16)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    config = {"k": k, "margin": 0.0, "width": WIDTH, "abstain": ["inform"]}
    return NearestExamplesOutOfScope(config, None, None, (vectors, np.array([o for _, o in bank])))


BANK = [
    ([1, 0, 0, 0], False),
    ([0.9, 0.1, 0, 0], False),
    ([0, 0, 1, 0], True),
    ([0, 0, 0.9, 0.1], True),
]


def classified(vector: list[float], intent: str = "pay_invoice") -> Message:
    ranking = [
        {"name": intent, "confidence": 0.7},
        {"name": "out_of_scope", "confidence": 0.2},
        {"name": "check_balance", "confidence": 0.1},
    ]
    return _with_ranking(embedded(vector), ranking)


def _with_ranking(message: Message, ranking: list[dict]) -> Message:
    message.set("intent", ranking[0])
    message.set("intent_ranking", ranking)
    return message


def test_a_message_nearer_the_out_of_scope_examples_is_out_of_scope() -> None:
    [message] = component(BANK).process([classified([0.1, 0, 1, 0])])
    assert message.get("intent") == {"name": "out_of_scope", "confidence": 0.7}
    # the classifier's pick trades confidences with out_of_scope; the rest stay as they were
    assert message.get("intent_ranking") == [
        {"name": "out_of_scope", "confidence": 0.7},
        {"name": "pay_invoice", "confidence": 0.2},
        {"name": "check_balance", "confidence": 0.1},
    ]


def test_a_message_nearer_the_in_scope_examples_keeps_the_classifiers_intent() -> None:
    [message] = component(BANK).process([classified([1, 0.1, 0.2, 0])])
    assert message.get("intent") == {"name": "pay_invoice", "confidence": 0.7}


def test_an_answer_to_the_bots_question_is_never_overruled() -> None:
    """A city or a company typed at a form's question is content: the vote abstains on inform."""
    [message] = component(BANK).process([classified([0.1, 0, 1, 0], intent="inform")])
    assert message.get("intent") == {"name": "inform", "confidence": 0.7}


def test_nothing_to_compare_with_changes_nothing() -> None:
    only_in_scope = component([b for b in BANK if not b[1]])
    assert only_in_scope.process([classified([0, 0, 1, 0])])[0].get("intent")["name"] == "pay_invoice"
    featureless = _with_ranking(Message(data={"text": "hi"}), [{"name": "greet", "confidence": 0.9}])
    assert component(BANK).process([featureless])[0].get("intent")["name"] == "greet"


def test_swapped_without_out_of_scope_in_the_ranking() -> None:
    assert swapped([{"name": "greet", "confidence": 0.6}]) == [
        {"name": "out_of_scope", "confidence": 0.6},
        {"name": "greet", "confidence": 0.0},
    ]


def test_a_kept_message_carries_its_nearest_examples_for_the_guard() -> None:
    labels = np.array(["pay_invoice", "check_balance", "out_of_scope", "out_of_scope"])
    vectors = np.array([v for v, _ in BANK], dtype=np.float16)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    config = {"k": 1, "margin": 0.0, "width": WIDTH, "abstain": ["inform"]}
    vote = NearestExamplesOutOfScope(config, None, None, (vectors, labels == "out_of_scope", labels))
    [message] = vote.process([classified([1, 0.05, 0, 0])])
    evidence = message.get("nearest_examples")
    assert message.get("intent")["name"] == "pay_invoice" and evidence["intent"] == "pay_invoice"
    assert 0.9 < evidence["margin"] < 1.01  # its own nearest at ~1.0, the out-of-scope ones at ~0
    # a bank without labels (a model trained before) gives no evidence, and the vote is unchanged
    [message] = component(BANK, k=1).process([classified([1, 0.05, 0, 0])])
    assert message.get("intent")["name"] == "pay_invoice" and message.get("nearest_examples") is None


def test_the_trained_model_keeps_our_requests_and_turns_away_others_business(trained_agent) -> None:
    """On the trained model: requests to us keep their intents, someone else's business (written
    here for this test, not from any dataset) is out of scope. `make test` trains first."""
    agent = trained_agent

    def intent(text: str) -> str:
        return asyncio.run(agent.parse_message(text))["intent"]["name"]

    ours = {
        "add 5 Inbox licenses": "add_licenses",
        "send me invoice INV-1042": "get_invoice",
        "what do we owe you right now": "check_balance",
        "yes": "affirm",
        "no": "deny",
        "hi": "greet",
        "thanks": "thank",
        # answers at the address form's questions (the dialogue script bd-address-step-by-step)
        "Boston, MA": "inform",
        "1 Main St": "inform",
        "Berlin, Germany": "inform",
    }
    assert {text: intent(text) for text in ours} == ours
    for text in (
        "my new debit card from the bank still hasn't come in the post",
        "buy 20 shares of a chip maker for me",
        "the courier left my parcel at the wrong house",
        "which train gets me to the airport fastest",
    ):
        assert intent(text) in ("out_of_scope", "nlu_fallback"), text
