"""Conversation basics: the welcome, and what the bot says when it did not understand.

Nothing here calls billing: a greeting or an out-of-scope question ("what's the weather?")
must never touch an account, and must answer even when billing is down.

Misunderstandings are counted from the tracker itself (the user turns at the end of the
conversation whose intent is ``nlu_fallback`` or ``out_of_scope``), so there is no counter slot to
keep in step: any recognised intent in between breaks the run. The second one in a row offers a
person.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from ._identity import identity
from ._render import buttons, render

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
        dispatcher.utter_message(
            text=render("basics/fallback", misses=misses, out_of_scope=intent == "out_of_scope", known=who.known),
            buttons=PERSON_BUTTONS if misses >= 2 else [],
        )
        return []
