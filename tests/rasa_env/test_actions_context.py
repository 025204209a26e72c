"""Follow-ups and context (issue 18): what a pricing follow-up refers to, the reps' hours from the
queue settings, complaints told from other out-of-scope messages, billing-details reads, and the
sales queue for a sales role. Pure functions and trackers: no billing backend.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_actions_context.py
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._identity import identity
from bot.actions.admins import ActionAnswerFaq
from bot.actions.complaints import complaint
from bot.actions.faq import hours_answer, queue_hours
from bot.actions.handoff import queue_for
from bot.actions.pricing import asked
from bot.actions.subscription import BILLING_DETAILS


def user(text: str, intent: str = "inform", **entities: Any) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "metadata": {"channel": "test"},
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
        },
    }


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def tracker(
    *events: dict[str, Any], slots: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
) -> Tracker:
    latest = dict(next(e for e in reversed(events) if e["event"] == "user")["parse_data"], **(extra or {}))
    return Tracker("conv-ctx", dict(slots or {}), latest, list(events), False, None, {}, "action_listen")


PRICED = {"priced_product": "professional", "priced_quantity": 40.0, "product": "professional", "quantity": 40.0}


def test_a_bare_product_after_a_price_keeps_its_quantity():
    t = tracker(
        user("professional for 40", "ask_pricing"),
        action("action_pricing"),
        action("action_listen"),
        user("and enterprise?", product="enterprise"),
        slots=PRICED,
    )
    assert asked(t) == ("enterprise", 40)


def test_a_bare_quantity_after_a_price_keeps_its_product():
    t = tracker(
        user("dialer?", "ask_pricing"),
        action("action_pricing"),
        action("action_listen"),
        user("for 12 people", quantity=12),
        slots={"priced_product": "dialer", "product": "dialer"},
    )
    assert asked(t) == ("dialer", 12)


def test_pointing_back_reuses_both_and_a_fresh_question_does_not():
    back = tracker(
        user("x", "ask_pricing"),
        action("action_pricing"),
        action("action_listen"),
        user("how much is that then", "ask_pricing"),
        slots=PRICED,
    )
    assert asked(back) == ("professional", 40)
    fresh = tracker(
        user("x", "ask_pricing"),
        action("action_pricing"),
        action("action_listen"),
        user("what are your prices", "ask_pricing"),
        slots=PRICED,
    )
    assert asked(fresh) == (None, None)


def test_the_memory_is_only_read_right_after_a_price_answer():
    t = tracker(
        user("x", "ask_pricing"),
        action("action_pricing"),
        action("action_listen"),
        user("show my invoices", "list_invoices"),
        action("action_list_invoices"),
        action("action_listen"),
        user("how much is enterprise", "ask_pricing", product="enterprise"),
        slots=PRICED,
    )
    assert asked(t) == ("enterprise", None)


def test_hours_come_from_the_queue_settings(monkeypatch):
    monkeypatch.setenv("HANDOFF_SALES_HOURS", "Mon-Fri 10:00-16:00; Sat 10:00-12:00")
    monkeypatch.setenv("HANDOFF_SALES_TIMEZONE", "Europe/Dublin")
    monkeypatch.delenv("HANDOFF_SUPPORT_HOURS", raising=False)
    assert queue_hours("sales") == "Mon–Fri 10 am–4 pm; Sat 10 am–12 pm (Europe/Dublin)"
    assert "Mon–Fri 8 am–8 pm" in queue_hours("support")  # the gateway's default
    assert "Support" not in hours_answer(known=False) and "Support" in hours_answer(known=True)
    monkeypatch.setenv("HANDOFF_SALES_HOURS", "")
    assert queue_hours("sales") == "by appointment"


async def test_the_faq_action_answers_hours_itself_and_others_by_their_response():
    def faq(key: str) -> Tracker:
        selected = {"faq": {"response": {"intent_response_key": key}}}
        return tracker(user("q", "faq"), extra={"response_selector": selected})

    domain = {"responses": {"utter_faq/phone_number": [{"text": "call"}]}}
    dispatcher = CollectingDispatcher()
    await ActionAnswerFaq().run(dispatcher, faq("faq/hours"), domain)
    assert "Sales:" in dispatcher.messages[0]["text"] and "24/7" in dispatcher.messages[0]["text"]
    dispatcher = CollectingDispatcher()
    await ActionAnswerFaq().run(dispatcher, faq("faq/phone_number"), domain)
    assert dispatcher.messages[0]["response"] == "utter_faq/phone_number"


def test_complaints_are_told_from_product_problems():
    for text in ("this is useless", "you're not helping", "what a waste of time", "so frustrating"):
        assert complaint(tracker(user(text, "out_of_scope"))), text
    for text in ("the dialer is not working", "what's the weather", "book me a flight"):
        assert not complaint(tracker(user(text, "out_of_scope"))), text


def test_billing_detail_reads_are_recognised():
    for text in (
        "what billing details do you have",
        "who gets our invoices",
        "which billing address is on file",
        "where do you send our invoices",
        "what email do invoices go to",
    ):
        assert BILLING_DETAILS.search(text), text
    for text in ("what's on our contract", "how many licenses do we have", "show my subscription"):
        assert not BILLING_DETAILS.search(text), text


def test_a_sales_role_means_the_sales_queue():
    def who_asks(text: str) -> str:
        t = tracker(
            dict(
                user(text, "talk_to_human"),
                metadata={"channel": "test", "identity": {"email": "olivia@bluebird.example"}},
            )
        )
        return queue_for(t, identity(t))

    assert who_asks("can I talk to my account exec") == "sales"
    assert who_asks("put me through to our account manager") == "sales"
    assert who_asks("I am stuck, get me a person") == "support"


async def test_thanks_with_nothing_waiting_is_just_you_are_welcome():
    from bot.actions.faq import ActionYouAreWelcome

    dispatcher = CollectingDispatcher()
    await ActionYouAreWelcome().run(dispatcher, tracker(user("thanks", "thank")), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_you_are_welcome"]
