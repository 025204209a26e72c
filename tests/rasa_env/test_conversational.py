"""ConversationalVariants (bot/nlu/conversational.py): the framed copies of our training examples
that teach the classifier to look past greetings, fillers and thanks around a request."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.conversational import CLOSINGS, OPENINGS, UNFRAMED, ConversationalVariants, frame, framed, variants
from bot.nlu.extraction import extract_entities

ROOT = Path(__file__).resolve().parents[2]

# Words that would make a frame evidence for one intent rather than none.
REQUEST_WORDS = re.compile(
    r"\b(licen\w*|seats?|users?|invoices?|bills?|billing|receipts?|statements?|pay\w*|prices?|pricing|"
    r"costs?|quotes?|plans?|editions?|tiers?|upgrade|cancel\w*|cards?|support|tickets?|cases?|help|"
    r"human|agent|person|call|phone|e-?mail|account|subscri\w*|contract|products?|enterprise|"
    r"professional|essentials|unlimited|dialer|inbox|analytics|storage|sandbox|bye|goodbye|yes|no|"
    r"nope|sure|bot|robot|today|tomorrow|yesterday|week|month|year)\b",
    re.IGNORECASE,
)


def our_data() -> TrainingData:
    return TrainingData().merge(*(load_data(str(p)) for p in sorted((ROOT / "nlu_data").glob("*.yml"))))


def test_frames_carry_no_request_number_or_time() -> None:
    for piece in (*OPENINGS, *CLOSINGS):
        assert not REQUEST_WORDS.search(piece), piece
        assert not re.search(r"\d", piece), piece
        # No quantity, period, email or invoice number for the rule extractor to find in a frame.
        assert extract_entities(piece.strip(" ,.:")) == [], piece


def test_a_framed_copy_keeps_its_entities_on_their_words() -> None:
    example = Message(
        data={
            TEXT: "Add 5 Enterprise licenses.",
            INTENT: "add_licenses",
            ENTITIES: [{"entity": "product", "start": 6, "end": 16, "value": "enterprise"}],
        }
    )
    copy = framed(example, "um hi, yeah so ", ", thanks")
    assert copy.get(TEXT) == "um hi, yeah so add 5 Enterprise licenses, thanks"
    (entity,) = copy.get(ENTITIES)
    assert copy.get(TEXT)[entity["start"] : entity["end"]] == "Enterprise"
    assert entity["value"] == "enterprise"
    # The original is untouched.
    assert example.get(TEXT) == "Add 5 Enterprise licenses." and example.get(ENTITIES)[0]["start"] == 6


def test_a_closing_never_cuts_into_an_entity_that_ends_the_example() -> None:
    example = Message(
        data={
            TEXT: "send it to ap@acme.example.",
            INTENT: "share_invoice",
            ENTITIES: [{"entity": "email", "start": 11, "end": 27, "value": "ap@acme.example."}],
        }
    )
    copy = framed(example, "", ", thanks")
    assert copy.get(TEXT) == "send it to ap@acme.example., thanks"
    (entity,) = copy.get(ENTITIES)
    assert copy.get(TEXT)[entity["start"] : entity["end"]] == "ap@acme.example."
    # Only the sentence's own full stop goes.
    plain = framed(Message(data={TEXT: "show my invoices.", INTENT: "list_invoices"}), "", ", thanks")
    assert plain.get(TEXT) == "show my invoices, thanks"


def test_every_copy_of_our_data_keeps_its_annotations_intent_and_faq_question() -> None:
    data = our_data()
    sources = [m for m in data.training_examples if m.get(INTENT) not in UNFRAMED and frame(m.get(TEXT))]
    copies = variants(data.training_examples)
    assert len(copies) == len(sources) > 2000
    for source, copy in zip(sources, copies):
        text = copy.get(TEXT)
        assert source.get(TEXT).rstrip(".!? ")[1:] in text
        assert copy.get(INTENT) == source.get(INTENT)
        assert copy.get(INTENT_RESPONSE_KEY) == source.get(INTENT_RESPONSE_KEY)
        before = [
            (e["entity"], e["value"], source.get(TEXT)[e["start"] : e["end"]]) for e in source.get(ENTITIES) or []
        ]
        after = [(e["entity"], e["value"], text[e["start"] : e["end"]]) for e in copy.get(ENTITIES) or []]
        assert after == before, text  # word for word: no synonym of the copy's own (EntitySynonymMapper)


def test_about_the_share_asked_for_and_never_a_bare_answer_or_card_number() -> None:
    data = our_data()
    eligible = [m for m in data.training_examples if m.get(INTENT) not in UNFRAMED]
    copies = variants(data.training_examples, share=0.5)
    assert 0.45 < len(copies) / len(eligible) < 0.55
    assert not {c.get(INTENT) for c in copies} & set(UNFRAMED)
    by_intent = Counter(c.get(INTENT) for c in copies)
    # The frames surround out-of-scope lines and social turns as much as requests.
    assert by_intent["out_of_scope"] > 100 and by_intent["greet"] > 20 and by_intent["thank"] > 20
    assert variants(data.training_examples, share=0.0) == []


def test_the_same_data_gives_the_same_copies_and_another_seed_others() -> None:
    data = our_data()
    first = [c.get(TEXT) for c in variants(data.training_examples, seed=0)]
    assert first == [c.get(TEXT) for c in variants(our_data().training_examples, seed=0)]
    assert first != [c.get(TEXT) for c in variants(data.training_examples, seed=1)]


def test_the_component_adds_copies_in_training_and_leaves_messages_alone() -> None:
    component = ConversationalVariants({"share": 0.5, "seed": 0})
    data = our_data()
    before = len(data.training_examples)
    trained_on = component.process_training_data(data)
    assert len(trained_on.intent_examples) > before
    assert trained_on.entity_synonyms == data.entity_synonyms and trained_on.lookup_tables == data.lookup_tables
    message = Message(data={TEXT: "hi, add 5 licenses please"})
    assert component.process([message])[0].get(TEXT) == "hi, add 5 licenses please"


def test_config_frames_the_training_data_first() -> None:
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    names = [c["name"] for c in pipeline]
    assert names.index("bot.nlu.conversational.ConversationalVariants") < names.index("WhitespaceTokenizer")


def test_the_trained_model_hears_a_request_said_the_chatty_way(trained_agent) -> None:
    """What a customer notices: a request wrapped in a greeting, fillers and thanks (written here,
    in words none of the frames use) is still that request, and someone else's business said the
    same way is still not ours. `make test` trains first."""

    def intent(text: str) -> str:
        return asyncio.run(trained_agent.parse_message(text))["intent"]["name"]

    said = {
        "hey there, um, so we've got two new people starting monday, could you add 2 more Inbox seats "
        "for them? thanks a bunch": "add_licenses",
        "hello! quick one from the finance side, how much do we currently owe you? cheers": "check_balance",
        "hi again, sorry, could you pull up invoice INV-1042 for me please, ta": "get_invoice",
        "good morning, my manager wants a number before friday, roughly what would Enterprise cost for "
        "30 users? many thanks": "ask_pricing",
        "hiya, I'm the new office admin and honestly I'm a bit lost, could I speak to an actual person "
        "please": "talk_to_human",
        "hi there, sorry to bug you, um, my parcel from the courier never arrived, any idea where it is? "
        "thanks": "out_of_scope",
        "hello, so um, the weather's been awful here, is it going to rain tomorrow in Leeds? thanks": "out_of_scope",
    }
    assert {text: intent(text) for text in said} == said
