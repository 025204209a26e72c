"""Conversation basics: the welcome, and what the bot says when it did not understand.

Nothing here calls billing: a greeting or an out-of-scope question ("what's the weather?")
must never touch an account, and must answer even when billing is down.

When the classifier had a guess it was not sure enough of (the message fell back under the
0.3 bar, or under the 0.85 bar of a change such as paying), the reply offers that guess as a
button ("Did you mean to pay an invoice?"): one click carries on, with the entities the message
had, and a change is still quoted and confirmed before anything happens.

While a quote or payment waits for a yes, a message not understood gets that question again.

Misunderstandings are counted from the tracker itself (the user turns at the end of the
conversation whose intent is ``nlu_fallback`` or ``out_of_scope``), so there is no counter slot to
keep in step: any recognised intent in between breaks the run. The second one in a row offers a
person.
"""
from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from ._identity import identity
from ._render import buttons, render
from .confirm import ask_again, pending

MISUNDERSTOOD = ("nlu_fallback", "out_of_scope")

CUSTOMER_BUTTONS = buttons(
    ("Add licenses", "/add_licenses"), ("My invoices", "/list_invoices"), ("What do we owe?", "/check_balance"),
    ("Pricing", "/ask_pricing"), ("Talk to a person", "/talk_to_human"),
)
VISITOR_BUTTONS = buttons(
    ("Editions and prices", "/ask_pricing"), ("What's in each edition?", "/product_info"),
    ("Talk to sales", "/talk_to_human"),
)
PERSON_BUTTONS = buttons(("Talk to a person", "/talk_to_human"), ("Call me back", "/request_callback"))

# What a guess is called in "Did you mean to ...?" (intents a user starts; not yes/no or chit-chat)
SUGGESTIONS = {
    "add_licenses": "add licenses", "buy_product": "buy a product", "upgrade_edition": "upgrade your edition",
    "view_subscription": "see your subscription", "list_invoices": "see your invoices",
    "get_invoice": "get an invoice", "share_invoice": "send an invoice to someone",
    "download_invoice": "download an invoice", "pay_invoice": "pay an invoice",
    "check_balance": "check what you owe", "update_payment_method": "change your payment card",
    "update_billing_details": "change your billing details", "cancel_subscription": "cancel your subscription",
    "contact_support": "open a support case", "case_status": "check on a support case",
    "ask_pricing": "ask about prices", "product_info": "hear about our products",
    "talk_to_human": "talk to a person", "request_callback": "get a call back",
}
SUGGEST_FROM = 0.2  # a guess under this is no better than a shrug


def suggestion(message: dict[str, Any]) -> tuple[str, str] | None:
    """(what to call it, button payload) for the classifier's best real guess, or None."""
    for ranked in message.get("intent_ranking") or []:
        name, confidence = ranked.get("name"), float(ranked.get("confidence") or 0.0)
        if name in MISUNDERSTOOD:
            continue
        if name not in SUGGESTIONS or confidence < SUGGEST_FROM:
            return None
        entities = {e["entity"]: e["value"] for e in message.get("entities") or []
                    if e.get("entity") and e.get("value") is not None}
        return SUGGESTIONS[name], f"/{name}" + (json.dumps(entities) if entities else "")
    return None


def first_name(name: str | None) -> str | None:
    parts = (name or "").split()
    return parts[0] if parts else None


def misunderstandings_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user turns in a row were not understood (out of scope or low
    confidence). Button payloads and recognised intents break the run."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in MISUNDERSTOOD:
            break
        count += 1
    return count


class ActionGreet(Action):
    """A short welcome that says what the bot can do, with the first name when the gateway
    knows who is talking."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        who = identity(tracker)
        dispatcher.utter_message(text=render("basics/greet", first_name=first_name(who.name), known=who.known),
                                 buttons=CUSTOMER_BUTTONS if who.known else VISITOR_BUTTONS)
        return []


class ActionFallback(Action):
    """Out of scope or not understood: say what the bot can do; the second time in a row, offer
    a person. Never calls billing."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        who = identity(tracker)
        misses = max(misunderstandings_in_a_row(tracker), 1)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        waiting = pending(tracker)
        if intent == "nlu_fallback" and waiting is not None and \
                ask_again(dispatcher, tracker, waiting, "utter_confirm_not_understood"):
            # Not understood while a quote or payment waits (an unsure "yes", a message with no
            # word in it): the question again, rather than a guess at something else.
            return []
        guess = suggestion(tracker.latest_message) if intent == "nlu_fallback" else None
        offered = buttons((f"Yes, {guess[0]}", guess[1])) if guess else []
        if misses >= 2:  # a person too, unless that is the guess already
            offered += [b for b in PERSON_BUTTONS if not (guess and guess[1].startswith(b["payload"]))]
        dispatcher.utter_message(
            text=render("basics/fallback", misses=misses, out_of_scope=intent == "out_of_scope", known=who.known,
                        guess=guess[0] if guess else None),
            buttons=offered,
        )
        return []
