"""Support cases: open one (``support_form`` collects a short description, then
``action_open_case``) and follow them (``action_case_status``).

Any member of a customer org may open and follow cases; an anonymous visitor can't (the form asks
nothing of them, and ``action_open_case`` offers a person or asks them to log in).
"""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.billing_client import ActingClient

from ._base import BillingAction
from ._identity import Identity, identity
from ._render import buttons, render

CASE_NUMBER = re.compile(r"\bCS[-\s]?(\d{3,})\b", re.IGNORECASE)
URGENT = re.compile(r"\b(urgent(ly)?|asap|emergency|critical|immediately|right away|production is down|"
                    r"(is|are|went) down|outage)\b", re.IGNORECASE)
HIGH = re.compile(r"\b(high priority|important|as soon as possible|quickly|blocking|blocked)\b", re.IGNORECASE)
VISITOR_OPTIONS = buttons(("Talk to a person", "/talk_to_human"), ("Call me back", "/request_callback"))
MIN_DESCRIPTION = 8  # characters


def user_texts_since(tracker: Tracker, intent: str, limit: int = 6) -> list[str]:
    """The user's texts from the latest message with ``intent`` on (at most ``limit``)."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        texts.append(event.get("text") or "")
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == intent or len(texts) >= limit:
            break
    return list(reversed(texts))


def priority_of(texts: list[str]) -> str:
    joined = " ".join(texts)
    if URGENT.search(joined):
        return "urgent"
    if HIGH.search(joined):
        return "high"
    return "normal"


def subject_of(description: str) -> str:
    """The first sentence, at most 80 characters."""
    first = re.split(r"(?<=[.!?])\s", description.strip(), maxsplit=1)[0]
    return first if len(first) <= 80 else first[:77].rstrip() + "..."


class ValidateSupportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_support_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        # A visitor can't open a case: ask nothing, action_open_case explains.
        return domain_slots if identity(tracker).known else []

    def validate_case_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < MIN_DESCRIPTION:
            dispatcher.utter_message(response="utter_case_description_too_short")
            return {"case_description": None}
        return {"case_description": text[:10_000]}


class ActionOpenCase(BillingAction):
    def name(self) -> str:
        return "action_open_case"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  who: Identity, client: ActingClient) -> list[EventType]:
        if not who.known:
            dispatcher.utter_message(text=render("basics/case_visitor"), buttons=VISITOR_OPTIONS)
            return []
        description = tracker.get_slot("case_description")
        if not description:
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        priority = priority_of(user_texts_since(tracker, "contact_support"))
        case = await client.open_case(subject_of(description), description, priority)
        dispatcher.utter_message(text=render("basics/case_opened", case=case, email=who.email))
        return [SlotSet("case_description", None)]

    def on_error(self, error, tracker: Tracker) -> list[EventType]:
        return [SlotSet("case_description", None)]


class ActionCaseStatus(BillingAction):
    def name(self) -> str:
        return "action_case_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  who: Identity, client: ActingClient) -> list[EventType]:
        if not who.known:
            dispatcher.utter_message(text=render("errors/not_signed_in", code="no_acting_user"),
                                     buttons=VISITOR_OPTIONS)
            return []
        asked = CASE_NUMBER.search(tracker.latest_message.get("text") or "")
        if asked:
            cases = [await client.case(f"CS-{asked.group(1)}")]
        else:
            cases = await client.cases(open_only=False)
        dispatcher.utter_message(text=render("basics/case_status", cases=cases, specific=bool(asked)),
                                 buttons=[] if cases else buttons(("Open a case", "/contact_support")))
        return []
