"""What the bot's last message offered (bot/actions/offers.py), with hand-built trackers: a yes
takes only the last message's one offer, never a confirmation's button, never an older offer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot.actions.offers import by_place, offered, picked, take


def user(text: str, intent: str = "affirm") -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "metadata": {"channel": "test", "identity": {"email": "alex@acme.example"}},
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []},
    }


def bot(text: str, *buttons: tuple[str, str]) -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"buttons": [{"title": t, "payload": p} for t, p in buttons]}}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def tracker(*events: dict[str, Any]) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker("c", {}, dict(latest["parse_data"]), list(events), False, None, {}, "action_listen")


def test_one_button_is_the_offer_and_taking_it_presses_it_with_the_same_identity():
    t = tracker(
        user("how much do we owe?", "check_balance"),
        bot("You owe $1.00", ("Pay an open invoice", "/pay_invoice")),
        user("ok pay it"),
    )
    offer = offered(t)
    assert offer is not None and offer.intent == "pay_invoice"
    events = take(t, offer)
    assert events[0] == SlotSet("offer", None) and events[1]["name"] == "action_listen"
    pressed = events[2]
    assert pressed["event"] == "user" and pressed["parse_data"]["intent"]["name"] == "pay_invoice"
    assert pressed["metadata"]["identity"]["email"] == "alex@acme.example"


def test_entities_of_the_button_become_its_slots():
    t = tracker(
        user("INV-1042?", "get_invoice"),
        bot("INV-1042 ...", ("Pay INV-1042", '/pay_invoice{"invoice_number":"INV-1042"}')),
        user("do it"),
    )
    events = take(t, offered(t))
    assert SlotSet("invoice_number", "INV-1042") in events
    assert events[2]["parse_data"]["entities"][0]["value"] == "INV-1042"


def test_confirmation_buttons_are_never_an_offer():
    t = tracker(
        user("pay INV-1041", "pay_invoice"),
        bot(
            "Pay INV-1041?",
            ("Yes", '/affirm{"confirms":"payment:INV-1041"}'),
            ("Pay INV-1042 instead", '/pay_invoice{"invoice_number":"INV-1042"}'),
            ("No", '/deny{"confirms":"payment:INV-1041"}'),
        ),
        user("yes"),
    )
    assert offered(t) is None and picked(t) is None


def test_several_buttons_offer_nothing_unless_the_turn_named_its_main_one():
    several = (("Pay an invoice", "/pay_invoice"), ("Check what you owe", "/check_balance"))
    t = tracker(user("sort out 1042", "nlu_fallback"), bot("did you mean ...?", *several), user("yes"))
    assert offered(t) is None
    t = tracker(
        user("sort out 1042", "nlu_fallback"),
        slot("offer", "/pay_invoice"),
        bot("did you mean ...?", *several),
        user("yes"),
    )
    assert offered(t).intent == "pay_invoice"
    t = tracker(
        user("sort out 1042", "nlu_fallback"), bot("did you mean ...?", *several), user("the second one", "inform")
    )
    assert by_place(t).intent == "check_balance"


def test_an_offer_made_before_the_last_reply_is_gone():
    t = tracker(
        user("how much do we owe?", "check_balance"),
        slot("offer", "/talk_to_human"),
        bot("You owe $1.00", ("Pay an open invoice", "/pay_invoice")),
        user("thanks", "thank"),
        bot("You're welcome!"),
        user("yes"),
    )
    assert offered(t) is None
    t = tracker(
        user("hm", "nlu_fallback"),
        slot("offer", "/talk_to_human"),
        bot("a person?", ("Talk to a person", "/talk_to_human"), ("Call me back", "/request_callback")),
        user("hi", "greet"),
        bot("Hi!", ("Pricing", "/ask_pricing"), ("Talk to a person", "/talk_to_human")),
        user("yes"),
    )
    assert offered(t) is None  # the slot named the previous message's button, not this one's


def test_a_did_you_mean_names_the_product_the_message_named():
    from bot.actions.suggestions import suggestions

    message = {
        "entities": [{"entity": "product", "value": "data_storage"}],
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "buy_product", "confidence": 0.5},
            {"name": "product_info", "confidence": 0.2},
            {"name": "contact_support", "confidence": 0.1},
        ],
    }
    assert suggestions(message) == [
        ("buy Data Storage", '/buy_product{"product":"data_storage"}'),
        ("hear about Data Storage", '/product_info{"product":"data_storage"}'),
        ("open a support case", '/contact_support{"product":"data_storage"}'),
    ]
