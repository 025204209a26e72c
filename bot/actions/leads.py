"""Leads: an anonymous visitor asking for a person gives a name, work email, company and, if they
like, a phone number (``lead_form``); ``action_handoff`` then opens the handoff with that lead.
Known customers are asked nothing.

Every message fills what it states ("I'm Dana Smith from Globex (dana@globex.example)" fills three
details at once, the message that asked for a person included), a later one corrects ("actually
my email is ..."), and "no", "skip", "no phone, email is fine" skip the optional phone. An answer
that can't be used gets one message: what is wrong, and the question again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.billing_client import Lead
from bot.nlu.lead_details import answer_to, details_in

from ._form_answers import INVALID, QUESTIONS, ask_response, latest, requested
from ._identity import identity

FORM = "lead_form"
SLOTS = {"name": "lead_name", "email": "lead_email", "company": "lead_company", "phone": "lead_phone"}
SHORT = {slot: short for short, slot in SLOTS.items()}
NO_PHONE = "none"  # lead_phone when the visitor would rather not give one


def lead_answers(tracker: Tracker, form: str, slots: dict[str, str]) -> dict[str, Any] | None:
    """The slots the latest message fills among ``slots`` (short name -> slot), with
    ``people_invalid`` set when the answer to the question asked can't be used; None when the
    message is no answer at all (a question, a no to anything but the optional phone)."""
    text, intent, _ = latest(tracker)
    asked_slot = requested(tracker, form)
    asked = SHORT.get(asked_slot or "") or ("phone" if asked_slot == "callback_phone" else None)
    missing = [short for short, slot in slots.items() if not tracker.get_slot(slot)]
    # A question mid-form ("how much is Dialer?") is no bare answer; only what it states with a cue counts.
    found = details_in(text) if intent in QUESTIONS else answer_to(asked, text, missing=missing)
    values: dict[str, Any] = {}
    for short, slot in slots.items():
        value = getattr(found, short)
        if value:
            values[slot] = value
    phone_slot = slots.get("phone")
    if (
        phone_slot
        and asked == "phone"
        and phone_slot not in values
        and phone_slot == "lead_phone"
        and (found.skip_phone or intent == "deny")
    ):
        values[phone_slot] = NO_PHONE
    if values:
        return values
    if intent in QUESTIONS or intent == "deny" or asked_slot is None:
        return None
    return {INVALID: asked_slot}


class ValidateLeadForm(FormValidationAction):
    """Fills the lead's details from whatever the visitor writes (see the module's docstring)."""

    def name(self) -> str:
        return "validate_lead_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if identity(tracker).known else domain_slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if identity(tracker).known:
            return [SlotSet("requested_slot", None)]
        values = lead_answers(tracker, FORM, SLOTS)
        return [SlotSet(slot, value) for slot, value in (values or {}).items()]


def lead_of(tracker: Tracker) -> Lead | None:
    name, email = tracker.get_slot("lead_name"), tracker.get_slot("lead_email")
    if not name or not email:
        return None
    phone = tracker.get_slot("lead_phone")
    return Lead(
        name=name,
        email=email,
        company=tracker.get_slot("lead_company") or None,
        phone=phone if phone and phone != NO_PHONE else None,
    )


AskLeadName = ask_response("lead_name", "utter_ask_lead_name", "utter_lead_name_invalid")
AskLeadEmail = ask_response("lead_email", "utter_ask_lead_email", "utter_lead_email_invalid")
AskLeadCompany = ask_response("lead_company", "utter_ask_lead_company", "utter_lead_company_invalid")
AskLeadPhone = ask_response("lead_phone", "utter_ask_lead_phone", "utter_lead_phone_invalid")
