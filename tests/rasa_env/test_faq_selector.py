"""The FAQ selector answers FAQ questions exactly as Rasa's ResponseSelector does, and does no
work for messages with any other intent."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.faq_selector import FaqResponseSelector

FAQ = {
    "faq/nonprofit": ["do nonprofits get a discount", "is there nonprofit pricing", "charity discount?"],
    "faq/where_account": ["where do I manage my account", "where is the billing page", "how do I find my account area"],
}
OTHER = {"greet": ["hello", "hi there", "good morning"], "check_balance": ["what's my balance", "how much do we owe"]}
RESPONSES = {
    "utter_faq/nonprofit": [{"text": "Nonprofits: ..."}],
    "utter_faq/where_account": [{"text": "Your account area: ..."}],
}


def test_only_faq_questions_are_looked_up(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    counts = CountVectorsFeaturizer.create(CountVectorsFeaturizer.get_default_config(), storage, Resource("c"), context)
    messages = [
        Message(data={TEXT: t, INTENT: key.split("/")[0], INTENT_RESPONSE_KEY: key})
        for key, texts in FAQ.items()
        for t in texts
    ]
    messages += [Message(data={TEXT: t, INTENT: intent}) for intent, texts in OTHER.items() for t in texts]
    data = TrainingData(messages, responses=RESPONSES)
    tokenizer.process_training_data(data)
    counts.train(data)
    counts.process_training_data(data)
    config = {**FaqResponseSelector.get_default_config(), "epochs": 30, "retrieval_intent": "faq", "random_seed": 1}
    selector = FaqResponseSelector.create(config, storage, Resource("s"), context)
    selector.train(data)

    def ask(text: str, intent: str) -> Message:
        message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.9}})
        tokenizer.process([message])
        counts.process([message])
        return selector.process([message])[0]

    answered = ask("is there a discount for nonprofits", "faq").get("response_selector")
    assert answered["faq"]["response"]["intent_response_key"] == "faq/nonprofit"
    assert answered["faq"]["response"]["responses"] == [{"text": "Nonprofits: ..."}]
    assert ask("what's my balance", "check_balance").get("response_selector") is None
