"""Billing details: show the billing contact and address on file, and change the billing contact's
email or the address through one form, ``billing_details_form``:

    billing_field            "contact" or "address" (from the request, or asked with what is on file)
    contact -> email         a real address; help after two failed tries
    address -> address_street ("500 Market Street, Floor 12": a comma starts line 2),
               address_city ("Austin, TX": a comma gives the state/region),
               address_postal_code, address_country (two letters, or a common country name)

then ``action_update_billing_details`` saves it with ``update_billing_profile`` (the backend checks
every field and saves all or nothing).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from bot.billing_client import BillingError, Invalid
from bot.nlu.addresses import address_in

from ._base import BillingAction, acting, explain
from ._identity import identity
from ._render import buttons, payload, render
from ._tasks import completed
from .invoices import entity
from .offers import Offer, take
from .sharing import AskForEmail, check_email, email_candidate, valid_email

ADDRESS_SLOTS = ("address_street", "address_city", "address_postal_code", "address_country")
FORM_SLOTS = ("billing_field", "email_tries", *ADDRESS_SLOTS)
ADDRESS_WORDS = re.compile(r"\b(address|street|city|postal|post ?code|zip|moved|relocat\w*|suite|floor)\b", re.I)
CONTACT_WORDS = re.compile(r"\b(contact|e-?mail|mail|ap|accounts payable|recipient|send (the )?invoices)\b", re.I)
# Intents that are another request, not an answer to the form's question (they interrupt it).
OTHER_REQUESTS = {
    "check_balance",
    "list_invoices",
    "get_invoice",
    "download_invoice",
    "share_invoice",
    "pay_invoice",
    "update_payment_method",
    "give_card_number",
    "add_licenses",
    "buy_product",
    "upgrade_edition",
    "view_subscription",
    "cancel_subscription",
    "contact_support",
    "case_status",
    "talk_to_human",
    "request_callback",
    "ask_pricing",
    "product_info",
    "faq",
    "greet",
    "goodbye",
    "thank",
    "bot_challenge",
    "help",
    "out_of_scope",
    "deny",
    "affirm",
}
COUNTRIES = {
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "england": "GB",
    "ireland": "IE",
    "canada": "CA",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "australia": "AU",
    "india": "IN",
    "mexico": "MX",
    "brazil": "BR",
    "japan": "JP",
}


def intent_of(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def answering(tracker: Tracker) -> bool:
    """Is the latest message an answer to the form's question (not a confident other request)?"""
    name, confidence = intent_of(tracker)
    return not (name in OTHER_REQUESTS and confidence >= 0.7)


def which_field(tracker: Tracker) -> str | None:
    text = tracker.latest_message.get("text") or ""
    if entity(tracker, "email"):
        return "contact"
    if ADDRESS_WORDS.search(text):
        return "address"
    if CONTACT_WORDS.search(text):
        return "contact"
    return None


def whole_address(tracker: Tracker) -> dict[str, Any]:
    """The form's address slots from a message that holds the whole address ({} if it doesn't)."""
    found = address_in(tracker.latest_message.get("text") or "")
    if found is None:
        return {}
    parts = {"address_street": found.street, "address_city": found.city, "address_postal_code": found.postal_code}
    return {**parts, "address_country": found.country} if found.country else parts


def country_code(value: str) -> str | None:
    text = value.strip().strip(".").lower()
    if re.fullmatch(r"[a-z]{2}", text):
        return text.upper()
    return COUNTRIES.get(text)


class ValidateBillingDetailsForm(FormValidationAction):
    def name(self) -> str:
        return "validate_billing_details_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        try:
            if tracker.get_slot(REQUESTED_SLOT) is None:
                # On activation: may this user see and change billing details? (Refused centrally.)
                await acting(identity(tracker)).billing_profile()
            return await super().run(dispatcher, tracker, domain)
        except BillingError as error:
            explain(dispatcher, error)
            return [*(SlotSet(slot, None) for slot in FORM_SLOTS), SlotSet(REQUESTED_SLOT, None), ActiveLoop(None)]

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        field = tracker.slots.get("billing_field")
        if field == "contact":
            return ["billing_field", "email"]
        if field == "address":
            return ["billing_field", *ADDRESS_SLOTS]
        return ["billing_field"]

    async def extract_billing_field(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) not in (None, "billing_field") or tracker.get_slot("billing_field"):
            return {}
        if tracker.get_slot(REQUESTED_SLOT) and not answering(tracker):
            return {}
        field = which_field(tracker)
        if not field:
            return {}
        if field == "contact" and tracker.get_slot("email") and not email_candidate(tracker):
            return {"billing_field": field, "email": None}  # an earlier address: ask, don't assume
        if field == "address":  # "we moved: 200 Congress Ave, ..., Austin, TX 78701": asked no more
            return {"billing_field": field, **whole_address(tracker)}
        return {"billing_field": field}

    def validate_billing_field(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        return {"billing_field": value if value in ("contact", "address") else None}

    async def extract_email(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "email" or entity(tracker, "email") or not answering(tracker):
            return {}
        return {"email": email_candidate(tracker) or tracker.latest_message.get("text") or ""}

    async def validate_email(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        return check_email(value, dispatcher, tracker, not_asked=(None, "billing_field"))

    def _text(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != slot or not answering(tracker):
            return {}
        # The whole address at any of its questions fills every part it gives.
        return whole_address(tracker) or {slot: (tracker.latest_message.get("text") or "").strip()}

    async def extract_address_street(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._text(tracker, "address_street")

    async def extract_address_city(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._text(tracker, "address_city")

    async def extract_address_postal_code(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._text(tracker, "address_postal_code")

    async def extract_address_country(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._text(tracker, "address_country")

    def _sized(self, slot: str, value: Any, limit: int, dispatcher) -> dict[str, Any]:
        text = value.strip() if isinstance(value, str) else ""
        if not text or len(text) > limit:
            dispatcher.utter_message(response=f"utter_invalid_{slot}")
            return {slot: None}
        return {slot: text}

    def validate_address_street(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._sized("address_street", value, 200, dispatcher)

    def validate_address_city(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._sized("address_city", value, 120, dispatcher)

    def validate_address_postal_code(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._sized("address_postal_code", value, 20, dispatcher)

    def validate_address_country(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        code = country_code(value) if isinstance(value, str) else None
        if code is None:
            dispatcher.utter_message(response="utter_invalid_address_country")
        return {"address_country": code}


class ActionAskBillingField(BillingAction):
    """What is on file, and which of it to change."""

    def name(self) -> str:
        return "action_ask_billing_field"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        profile = await client.billing_profile()
        dispatcher.utter_message(
            text=render("payments/billing_profile", profile=profile, changed=None, ask=True),
            buttons=buttons(
                ("The billing contact email", "change the billing contact email"),
                ("The billing address", "change the billing address"),
            ),
        )
        return []


def split_once(value: str) -> tuple[str, str]:
    head, _, tail = value.partition(",")
    return head.strip(), tail.strip()


def address_changes(tracker: Tracker) -> dict[str, str]:
    line1, line2 = split_once(tracker.get_slot("address_street") or "")
    city, region = split_once(tracker.get_slot("address_city") or "")
    return {
        "address_line1": line1,
        "address_line2": line2,
        "city": city,
        "region": region,
        "postal_code": (tracker.get_slot("address_postal_code") or "").strip(),
        "country": tracker.get_slot("address_country") or "",
    }


class ActionUpdateBillingDetails(BillingAction):
    """The form's submit: save the contact email or the address, all or nothing."""

    def name(self) -> str:
        return "action_update_billing_details"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        field = tracker.get_slot("billing_field")
        if field == "contact" and valid_email(tracker.get_slot("email")):
            changes = {"contact_email": tracker.get_slot("email").strip().lower()}
        elif field == "address" and all(tracker.get_slot(s) for s in ADDRESS_SLOTS):
            changes = address_changes(tracker)
        else:  # the form stopped early and said why
            return self.on_error(None, tracker)
        try:
            profile = await client.update_billing_profile(**changes)
        except Invalid as error:
            dispatcher.utter_message(
                text=render("payments/billing_invalid", message=error.message, fields=error.fields)
            )
            return self.on_error(error, tracker)
        dispatcher.utter_message(
            text=render("payments/billing_profile", profile=profile, changed=field, ask=False),
            **completed("billing_details_updated"),
        )
        return self.on_error(None, tracker)

    def on_error(self, error: BillingError | None, tracker: Tracker) -> list[EventType]:
        return [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("email", None)]


class ActionAskBillingDetailsFormEmail(AskForEmail):
    form = "billing_details_form"
    question = "utter_ask_billing_details_form_email"


# Says the address is the billing contact's ("change the billing email to ..."), not where an
# invoice just emailed should have gone.
BILLING_CONTACT = re.compile(r"\b(billing|contact|invoices (go|are sent|should go))\b", re.I)


class ActionReaddressInvoice(Action):
    """An address right after an invoice was emailed ("make it ap@acme.example instead"): that
    invoice again, to the new address, as if asked (the share form checks it). Only a message
    that says it is about the billing contact changes the contact: a correction of a recipient
    must never move where every future invoice goes."""

    def name(self) -> str:
        return "action_readdress_invoice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        address, number = email_candidate(tracker), tracker.get_slot("invoice_number")
        if BILLING_CONTACT.search(str(tracker.latest_message.get("text") or "")) or not number:
            return take(tracker, Offer("", payload("update_billing_details", email=address)))
        return take(tracker, Offer("", payload("share_invoice", invoice_number=number, email=address)))
