"""A conversation saved as a conversation test (bot/console/data/review.py ``save_test``,
conversation_tests.py), from Rasa's events table on real SQLite and PostgreSQL: the steps in order
with the reviewer's labels, entities written in, the handoff's stretch left out, one story per
session; a safe file name that never overwrites; refusals. (tests/rasa_env/test_reviewed_data.py
has Rasa's own story reader read a saved test.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.console.data.api import BadLabel
from tests.console.review.inbox import add_events, add_message, review

ALEX = "rita@vendor.example"


def user(text: str, intent: str | None, confidence: float = 0.9, entities=(), **parse) -> tuple[str, dict]:
    data = {
        "text": text,
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": list(entities),
            **parse,
        },
        "input_channel": "gateway",
        "metadata": {"identity": {"email": "alex@acme.example"}, "channel": "widget"},
    }
    return "user", data


def action(name: str) -> tuple[str, dict]:
    return "action", {"name": name, "policy": "RulePolicy", "confidence": 1.0}


def session_start() -> list[tuple[str, dict]]:
    return [
        action("action_session_start"),
        ("session_started", {}),
        ("slot", {"name": "session_started_metadata", "value": {"identity": {"email": "alex@acme.example"}}}),
        action("action_listen"),
    ]


CONVERSATION = [
    *session_start(),
    user(
        "add 5 licences for Inbox",
        "add_licenses",
        entities=[
            {"entity": "quantity", "start": 4, "end": 5, "value": 5, "extractor": "AccountEntityExtractor"},
            {"entity": "product", "start": 19, "end": 24, "value": "inbox", "extractor": "CRFEntityExtractor"},
        ],
    ),
    ("slot", {"name": "quantity", "value": 5}),
    action("license_form"),
    ("active_loop", {"name": "license_form"}),
    ("slot", {"name": "product", "value": "inbox"}),
    ("slot", {"name": "requested_slot", "value": None}),
    ("active_loop", {"name": None}),
    action("action_quote_licenses"),
    ("bot", {"text": "5 Inbox licenses: ...", "data": {}}),
    ("slot", {"name": "pending_quote", "value": "Q-5001"}),
    action("action_listen"),
    user("hmm [not sure] about this, my card 4242 4242 4242 4242", "nlu_fallback", 0.2),
    action("action_fallback"),
    action("action_listen"),
    user(
        "where do I manage our subscription",
        "faq",
        response_selector={"faq": {"response": {"intent_response_key": "faq/where_is_account", "confidence": 0.9}}},
    ),
    action("action_answer_faq"),
    action("action_listen"),
    user("get me a person", "talk_to_human"),
    action("action_handoff"),
    ("pause", {}),
    user("hi, Dana here? my invoice is wrong", "get_invoice"),
    ("bot", {"text": "Hi, I'm Dana", "metadata": {"rep": "U1"}}),
    ("resume", {}),
    ("slot", {"name": "pending_quote", "value": None}),
    ("bot", {"text": "You're back with the assistant"}),
    user("thanks!", "thank"),
    action("action_you_are_welcome"),
    action("action_listen"),
    *session_start(),
    user("/greet", "greet", 1.0),
    action("action_greet"),
    action("action_listen"),
]


def saved(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text())


def test_a_conversation_becomes_a_test_with_labels_entities_and_sessions(db, reviewed):
    ids = add_events(db, "wv-42", CONVERSATION)
    by_text = {d["text"]: i for i, (kind, d) in zip(ids, CONVERSATION) if kind == "user"}
    fallback = next(i for text, i in by_text.items() if text.startswith("hmm"))
    miss = add_message(db, "hmm (not sure) about this", sender="wv-42", event_id=fallback)
    inbox = review(db, reviewed)
    inbox.label([miss], "out_of_scope", ALEX)

    path = inbox.save_test("wv-42", "Fallback after a quote!", "rita@vendor.example")

    assert Path(path) == reviewed.parent.parent / "conversations" / "test_fallback_after_a_quote.yml"
    content = Path(path).read_text()
    assert content.startswith('version: "3.1"\n\n# Saved from the staff console by rita@vendor.example on ')
    assert "4242" not in content and "alex@acme.example" not in content
    first, second = saved(path)["stories"]
    assert first["story"] == "Fallback after a quote!, session 1"
    assert first["steps"] == [
        {
            "user": 'add [5](quantity) licences for [Inbox]{"entity": "product", "value": "inbox"}\n',
            "intent": "add_licenses",
        },
        {"slot_was_set": [{"quantity": 5}]},
        {"action": "license_form"},
        {"active_loop": "license_form"},
        {"slot_was_set": [{"product": "inbox"}]},
        {"slot_was_set": [{"requested_slot": None}]},
        {"active_loop": None},
        {"action": "action_quote_licenses"},
        {"slot_was_set": [{"pending_quote": "Q-5001"}]},
        # the reviewer's label, not the NLU's fallback; the card redacted, brackets as parentheses
        {"user": "hmm (not sure) about this, my card CARDNUMBER\n", "intent": "out_of_scope"},
        {"action": "action_fallback"},
        {"user": "where do I manage our subscription\n", "intent": "faq/where_is_account"},
        {"action": "action_answer_faq"},
        {"user": "get me a person\n", "intent": "talk_to_human"},
        {"action": "action_handoff"},
        # the customer and the rep while Rasa was paused are left out; what resume set stays
        {"slot_was_set": [{"pending_quote": None}]},
        {"user": "thanks!\n", "intent": "thank"},
        {"action": "action_you_are_welcome"},
    ]
    assert second == {
        "story": "Fallback after a quote!, session 2",
        "steps": [{"user": "/greet\n", "intent": "greet"}, {"action": "action_greet"}],
    }


def test_names_are_made_safe_and_no_file_is_overwritten(db, reviewed):
    add_events(db, "wv-7", [*session_start(), user("hello", "greet"), action("action_greet")])
    inbox = review(db, reviewed)
    folder = reviewed.parent.parent / "conversations"
    paths = [inbox.save_test("wv-7", name, ALEX) for name in ("../../etc/passwd", "etc passwd", "ETC/passwd")]
    assert [Path(p).name for p in paths] == ["test_etc_passwd.yml", "test_etc_passwd_2.yml", "test_etc_passwd_3.yml"]
    assert {p.parent for p in map(Path, paths)} == {folder}
    assert saved(paths[0])["stories"][0]["story"] == "../../etc/passwd"
    assert [p.name for p in folder.iterdir()] and not [p for p in folder.iterdir() if p.name.startswith(".")]
    long = inbox.save_test("wv-7", "a" * 300, ALEX)
    assert Path(long).name == f"test_{'a' * 60}.yml"


@pytest.mark.parametrize(
    ("sender", "name", "reviewer", "message"),
    [
        ("wv-7", "!!!", ALEX, "a name with at least one letter or digit"),
        ("wv-7", "ok", "", "reviewer's name"),
        ("wv-unknown", "ok", ALEX, "holds no conversation 'wv-unknown'"),
        ("wv-bare", "ok", ALEX, "no customer message to test"),
    ],
)
def test_refusals(db, reviewed, sender, name, reviewer, message):
    add_events(db, "wv-7", [*session_start(), user("hello", "greet"), action("action_greet")])
    add_events(db, "wv-bare", session_start())
    with pytest.raises(BadLabel, match=message):
        review(db, reviewed).save_test(sender, name, reviewer)
    assert not (reviewed.parent.parent / "conversations").exists() or not list(
        (reviewed.parent.parent / "conversations").iterdir()
    )


def test_without_the_tracker_store_a_test_cannot_be_saved(db, reviewed):
    add_events(db, "wv-7", [*session_start(), user("hello", "greet"), action("action_greet")])
    with pytest.raises(BadLabel, match="needs Rasa's tracker store"):
        review(db, reviewed, tracker_engine=None).save_test("wv-7", "hello", ALEX)
