"""The FAQ selector picks the question asked and puts on the message what Rasa's ResponseSelector puts,
so Rasa's retrieval action (utter_faq) and our FAQ action answer from it; it is stored as arrays and
JSON and loads back the same; messages with another intent get nothing."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions.action import ActionRetrieveResponse
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa_sdk import Tracker

from bot.actions.admins import faq_key
from bot.nlu.linear_responses import LinearResponseSelector
from tests.rasa_env.featurizers import featurized

FAQ = {
    "faq/nonprofit": ["do nonprofits get a discount", "is there nonprofit pricing", "charity discount?"],
    "faq/where_account": ["where do I manage my account", "where is the billing page", "how do I find my account area"],
    "faq/phone": ["what is your phone number", "can I call you", "number to ring sales"],
}
OTHER = {"greet": ["hello", "hi there", "good morning"], "check_balance": ["what's my balance", "how much do we owe"]}
RESPONSES = {
    "utter_faq/nonprofit": [{"text": "Nonprofits: ..."}],
    "utter_faq/where_account": [{"text": "Your account area: ..."}],
    "utter_faq/phone": [{"text": "Call us on ..."}],
    "utter_greet": [{"text": "Hi!"}],
}
CONFIG = {"retrieval_intent": "faq"}


def training_data() -> TrainingData:
    messages = [
        Message(data={TEXT: t, INTENT: key.split("/")[0], INTENT_RESPONSE_KEY: key})
        for key, texts in FAQ.items()
        for t in texts
    ]
    messages += [Message(data={TEXT: t, INTENT: intent}) for intent, texts in OTHER.items() for t in texts]
    return TrainingData(messages, responses=RESPONSES)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test")
    data = training_data()
    featurize = featurized(data, storage, context)
    selector = LinearResponseSelector.create(CONFIG, storage, Resource("faq"), context)
    selector.train(data)

    def ask(text: str, intent: str, component=selector) -> Message:
        message = featurize(text)
        message.set(INTENT, {"name": intent, "confidence": 0.9})
        return component.process([message])[0]

    return storage, context, data, featurize, selector, ask


def test_faq_questions_get_their_answer(parts):
    *_, ask = parts
    for text, key in (
        ("are there discounts for charities", "faq/nonprofit"),
        ("where can I find the billing page", "faq/where_account"),
        ("what number do I call", "faq/phone"),
    ):
        selected = ask(text, "faq").get("response_selector")
        response = selected["faq"]["response"]
        assert response["intent_response_key"] == key, text
        assert response["responses"] == RESPONSES[f"utter_{key}"] and response["utter_action"] == f"utter_{key}"
        assert selected["all_retrieval_intents"] == ["faq"]
        ranking = selected["faq"]["ranking"]
        assert ranking[0] == {"confidence": response["confidence"], "intent_response_key": key}
        assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-5 and len(ranking) == len(FAQ)


def test_other_intents_get_no_faq_answer(parts):
    *_, ask = parts
    assert ask("what's my balance", "check_balance").get("response_selector") is None
    assert ask("", "faq").get("response_selector") is None


def shape(value):
    """The keys and value types of a nested answer, its lists by their first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_the_answer_has_the_shape_of_rasas_response_selector(parts):
    from rasa.nlu.selectors.response_selector import ResponseSelector

    storage, context, data, _, selector, ask = parts
    config = {**ResponseSelector.get_default_config(), "epochs": 2, "retrieval_intent": "faq", "random_seed": 1}
    rasas = ResponseSelector.create(config, storage, Resource("rasa"), context)
    rasas.train(data)
    ours, theirs = (ask("can I call you", "faq", c).get("response_selector") for c in (selector, rasas))
    assert shape(ours) == shape(theirs) and ours["all_retrieval_intents"] == theirs["all_retrieval_intents"]


def test_stored_as_arrays_and_json_and_loads_back_the_same(parts):
    storage, context, _, _, selector, ask = parts
    loaded = LinearResponseSelector.load(CONFIG, storage, Resource("faq"), context)
    for text in ("charity pricing?", "where is my account", "phone"):
        assert ask(text, "faq", loaded).get("response_selector") == ask(text, "faq").get("response_selector")
    with storage.read_from(Resource("faq")) as directory:
        assert sorted(p.name for p in directory.iterdir()) == ["answers.json", "classes.json", "weights.npz"]


def test_not_trained_without_faq_examples(tmp_path):
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "test")
    data = TrainingData([Message(data={TEXT: t, INTENT: i}) for i, texts in OTHER.items() for t in texts])
    featurize = featurized(data, storage, context)
    LinearResponseSelector.create(CONFIG, storage, Resource("faq"), context).train(data)
    loaded = LinearResponseSelector.load(CONFIG, storage, Resource("faq"), context)
    message = featurize("do nonprofits get a discount")
    message.set(INTENT, {"name": "faq", "confidence": 0.9})
    assert loaded.process([message])[0].get("response_selector") is None


def test_one_faq_question_is_always_its_answer(tmp_path):
    """A bot with a single FAQ question trains, and any FAQ message gets that question's answer."""
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "test")
    one = [Message(data={TEXT: t, INTENT: "faq", INTENT_RESPONSE_KEY: "faq/phone"}) for t in FAQ["faq/phone"]]
    data = TrainingData(one + [Message(data={TEXT: t, INTENT: "greet"}) for t in OTHER["greet"]], responses=RESPONSES)
    featurize = featurized(data, storage, context)
    LinearResponseSelector.create(CONFIG, storage, Resource("faq"), context).train(data)
    loaded = LinearResponseSelector.load(CONFIG, storage, Resource("faq"), context)
    message = featurize("do nonprofits get a discount")
    message.set(INTENT, {"name": "faq", "confidence": 0.9})
    response = loaded.process([message])[0].get("response_selector")["faq"]["response"]
    assert response["intent_response_key"] == "faq/phone" and response["confidence"] == pytest.approx(1.0)
    assert response["responses"] == RESPONSES["utter_faq/phone"]


@pytest.mark.parametrize(
    "text, key",
    [
        ("where do i manage our subscription", "faq/where_is_account"),
        ("is there a phone number for sales", "faq/phone_number"),
        ("who in my company can give me the manage billing permission", "faq/who_grants_permission"),
    ],
)
def test_the_trained_model_answers_through_rasas_retrieval_action_and_ours(trained_agent, text, key):
    """`make train`'s model: the question is understood as faq, the selector picks it, Rasa's utter_faq
    utters its response, and our FAQ action (bot/actions/admins.py) reads the same question."""
    parse = asyncio.run(trained_agent.parse_message(text))
    assert parse["intent"]["name"] == "faq"
    assert parse["response_selector"]["faq"]["response"]["intent_response_key"] == key
    domain: Domain = trained_agent.domain
    tracker = DialogueStateTracker.from_events(
        "s", [ActionExecuted("action_listen"), UserUttered(text, parse["intent"], parse_data=parse)]
    )
    events = asyncio.run(
        ActionRetrieveResponse("utter_faq").run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
        )
    )
    said = [e.text for e in events if isinstance(e, BotUttered)]
    assert said and said[0] in [r["text"] for r in domain.responses[f"utter_{key}"]]
    assert faq_key(Tracker("s", {}, parse, [], False, None, {}, "action_listen")) == key
