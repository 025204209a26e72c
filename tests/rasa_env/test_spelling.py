"""Typo correction for the features (bot/nlu/spelling.py): what gets corrected, what never does,
and that the customer's own text, tokens and entities stay as typed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_features import SentenceEmbeddingFeaturizer
from bot.nlu.spelling import SPELLED_TEXT, Speller, SpellingCorrector, rewritten, words_of

# Our words, as training would count them: a product, plan names, and a slip written on purpose.
OURS = words_of(
    ["send me the invoice", "add Inbox licenses", "upgrade to Enterprise", "what does Unlimited include"] * 10
    + ["send the invoce"]
)


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(OURS)


def spelled(speller: Speller, text: str) -> str:
    spans = [(m.start(), m.end()) for m in __import__("re").finditer(r"[^\s,.?!]+", text)]
    return rewritten(text, speller.spelled(text, spans))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("send me the invocie", "send me the invoice"),  # two letters swapped, a word of ours
        ("how muhc is the Inbx add on", "how much is the Inbox add on"),  # English and a product
        ("upgrade us to Enterprsie", "upgrade us to Enterprise"),  # capitalised: ours only, case kept
        ("wht does Unlimted include", "what does Unlimited include"),
        ("pleeease", "please"),
        ("hiii", "hi"),
        ("send the invoce", "send the invoice"),  # a slip in our own examples is not a word of ours
    ],
)
def test_typos_become_the_word_meant(speller, typed, meant):
    assert spelled(speller, typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "please resubscribe me",  # a rare English word is not made a commoner one
        "we use SSO and SCIM",  # acronyms
        "send it to jonh@exmaple.com",  # an email
        "INV-1042 and 5th and 3x",  # anything with a digit
        "do they do gluten free stuff at Nandos",  # a name: never corrected into English
        "ok",  # shorter than three letters
        "crème brûlée please",  # not ASCII
    ],
)
def test_words_that_are_not_typos_stay(speller, text):
    assert spelled(speller, text) == text


def _component(tmp_path: Path) -> tuple[SpellingCorrector, LocalModelStorage]:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return SpellingCorrector.create({}, storage, Resource("spelling"), context), storage


def _tokenized(text: str, intent: str | None = None) -> Message:
    message = Message(data={TEXT: text, **({INTENT: intent} if intent else {})})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    return message


def test_the_component_learns_our_words_and_corrects_features_only(tmp_path):
    corrector, storage = _component(tmp_path)
    data = TrainingData([_tokenized("upgrade to Enterprise", "upgrade_plan"), _tokenized("send me the invoice", "x")])
    corrector.train(data)
    corrector.process_training_data(data)
    assert all(m.get(SPELLED_TEXT) is None for m in data.training_examples)  # nothing to correct

    loaded = SpellingCorrector.load(
        SpellingCorrector.get_default_config(), storage, Resource("spelling"), ExecutionContext(GraphSchema({}), "t")
    )
    [message] = loaded.process([_tokenized("upgrade us to Enterprsie, jonh@exmaple.com")])
    assert message.get(TEXT) == "upgrade us to Enterprsie, jonh@exmaple.com"  # as typed
    assert message.get(SPELLED_TEXT) == "upgrade us to Enterprise, jonh@exmaple.com"
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens][:4] == ["upgrade", "us", "to", "Enterprsie"]
    assert [t.lemma for t in tokens][:4] == ["upgrade", "us", "to", "Enterprise"]


def test_the_sentence_encoder_reads_the_corrected_text(tmp_path):
    corrector, _ = _component(tmp_path)
    corrector.train(TrainingData([_tokenized("upgrade to Enterprise", "upgrade_plan")]))
    featurizer = SentenceEmbeddingFeaturizer({**SentenceEmbeddingFeaturizer.get_default_config()}, "sentence")

    def embedding(text: str) -> np.ndarray:
        [message] = featurizer.process(corrector.process([_tokenized(text)]))
        return message.features[0].features

    np.testing.assert_allclose(embedding("upgrade us to Enterprsie"), embedding("upgrade us to Enterprise"), atol=1e-6)


def test_the_trained_model_reads_typos_as_the_clean_request(trained_agent):
    """On the trained model (`make test` trains first): a request with slips of the finger gets the
    clean request's intent, and its entities are what the customer typed."""
    agent = trained_agent

    def parse(text: str) -> dict:
        return asyncio.run(agent.parse_message(text))

    # written for this test: one or two slips in each, none of them in our training data
    pairs = {
        "how mcuh does the Inbox add-on cost": "how much does the Inbox add-on cost",
        "we need to ad 3 more lisences": "we need to add 3 more licenses",
        "whats our outstandign balanec": "whats our outstanding balance",
        "pls upgarde us to Enterprise": "pls upgrade us to Enterprise",
    }
    for typed, clean in pairs.items():
        assert parse(typed)["intent"]["name"] == parse(clean)["intent"]["name"], typed
    result = parse("emial invoice INV-1042 to jonh@exmaple.com")
    assert result["text"] == "emial invoice INV-1042 to jonh@exmaple.com"
    emails = [e["value"] for e in result["entities"] if e["entity"] == "email"]
    assert emails == ["jonh@exmaple.com"]
