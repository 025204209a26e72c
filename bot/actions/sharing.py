"""Sharing an invoice: ``share_invoice_form`` (invoice_number, email) then ``action_share_invoice``,
and what every form that asks for an email address shares (``check_email``, ``AskForEmail``)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from bot.billing_client import ActingClient, BillingError, NotFound, Unavailable
from bot.nlu.invoice_words import EMAIL, EMAIL_IN_TEXT, normalise_number

from ._base import OFFER_PERSON, BillingAction, acting, explain, permission_admins
from ._identity import Identity, identity
from ._render import render
from ._tasks import completed
from .invoices import NoSuchInvoice, entity, find_invoice

# -- sharing: share_invoice_form (invoice_number, email) then action_share_invoice ------------------

# "an invoice", "one of our invoices": no invoice in particular, so the form asks which. (An
# email to someone else is a disclosure: it goes out only for the invoice the customer meant.)
INDEFINITE = re.compile(r"\b(an|any|some|one of (our|my|the)) invoices?\b", re.IGNORECASE)


def email_candidate(tracker: Tracker) -> str | None:
    """The address the user gave: the email entity, else anything address-like in the text."""
    value = entity(tracker, "email")
    if value:
        return value.strip().lower()
    found = EMAIL_IN_TEXT.search(tracker.latest_message.get("text") or "")
    return found.group(0).strip(".").lower() if found else None


def check_email(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, not_asked: tuple[str | None, ...]
) -> dict[str, Any]:
    """Validate the ``email`` slot of a form; help after the second failed try. While the form
    has not asked for it yet (``not_asked``), an address from earlier in the conversation is not
    taken: ask, don't assume."""
    if tracker.get_slot(REQUESTED_SLOT) in not_asked and not email_candidate(tracker):
        return {"email": None}
    address = value.strip().lower() if isinstance(value, str) else ""
    if valid_email(address):
        return {"email": address, "email_tries": None}
    tries = int(tracker.get_slot("email_tries") or 0) + 1
    dispatcher.utter_message(response="utter_invalid_email_help" if tries >= 2 else "utter_invalid_email")
    return {"email": None, "email_tries": float(tries)}


def email_refused_this_turn(tracker: Tracker) -> bool:
    """Whether the form's validation refused an address in the latest message: ``check_email``
    then said what was wrong and asked again, in one message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == "email_tries" and event.get("value"):
            return True
    return False


class AskForEmail(Action, ABC):
    """``action_ask_<form>_email``: the form's question for an address, unless the answer just
    refused already asked it again (one message per invalid answer, not the complaint and then the
    question)."""

    form = ""

    @property
    @abstractmethod
    def question(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.form}_email"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not email_refused_this_turn(tracker):
            dispatcher.utter_message(response=self.question)
        return []


class ActionAskShareInvoiceFormEmail(AskForEmail):
    form = "share_invoice_form"
    question = "utter_ask_share_invoice_form_email"


def valid_email(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 254 and EMAIL.fullmatch(value.strip()) is not None


# While share_invoice_form asks, what counts as an answer (a number, "the latest", an address, or
# words the NLU could not place: asked again), and which other requests it comes back to after
# they are answered (they help choose the invoice: stories/invoices.yml). Anything else is another
# request: it is answered as itself and the form lets go, so a customer told "I can't find invoice
# INV-..." is never held by the question, and an invoice number said for something else ("pay
# INV-1042") is never taken as the one to email.
FORM_ANSWERS = frozenset({"inform", "share_invoice", "nlu_fallback"})
# (A yes or "do it" is no address: action_confirm says so, and the form asks again. A thanks ends it.)
FORM_RESUMES_AFTER = frozenset({"check_balance", "list_invoices", "give_card_number", "case_status", "faq", "affirm"})


def since_user(tracker: Tracker) -> list[dict[str, Any]]:
    """The events after the latest user message."""
    for index in range(len(tracker.events) - 1, -1, -1):
        if tracker.events[index].get("event") == "user":
            return tracker.events[index + 1 :]
    return []


def answered_in_between(tracker: Tracker, form: str) -> bool:
    """Did another action answer the latest message before the form ran (an interruption)?"""
    own = {form, f"validate_{form}", "action_listen", "action_extract_slots"}
    return any(e.get("event") == "action" and e.get("name") not in own for e in since_user(tracker))


class ValidateShareInvoiceForm(FormValidationAction):
    """The invoice defaults to the one in context, else the newest, and must exist (and be the
    user's: the backend refuses otherwise). The email must be a real address; after two failed
    tries the user gets help. Another request while it asks is answered, and the form lets go
    (``FORM_ANSWERS``)."""

    def name(self) -> str:
        return "validate_share_invoice_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if tracker.get_slot(REQUESTED_SLOT) and intent not in FORM_ANSWERS:
            if not answered_in_between(tracker, self.form_name()):
                # Not an answer: rejected, so the message is answered as what it is; the form runs
                # again after that and lets go (below).
                return [ActionExecutionRejected(self.form_name())]
            if intent not in FORM_RESUMES_AFTER:
                return self.let_go()
        try:
            return await super().run(dispatcher, tracker, domain)
        except BillingError as error:  # refused or billing down: say so and leave the form
            explain(dispatcher, error, read="send invoices")
            return [*self.let_go(), *permission_admins(error)]

    @staticmethod
    def let_go() -> list[EventType]:
        """Leave the form with nothing half-asked: the address goes, the conversation's invoice stays."""
        return [SlotSet("email", None), SlotSet("email_tries", None), SlotSet(REQUESTED_SLOT, None), ActiveLoop(None)]

    @staticmethod
    def _client(tracker: Tracker) -> ActingClient:
        return acting(identity(tracker))

    async def extract_invoice_number(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        """A period in the message picks an invoice; on activation without an invoice in context,
        the newest. (An invoice number is mapped from its entity and checked below.)"""
        asked = tracker.get_slot(REQUESTED_SLOT)
        if asked not in (None, "invoice_number") or entity(tracker, "invoice_number"):
            return {}
        if not entity(tracker, "period") and (asked or tracker.get_slot("invoice_number")):
            return {}
        if not entity(tracker, "period") and INDEFINITE.search(str(tracker.latest_message.get("text") or "")):
            return {}  # "forward an invoice to ap@...": which one is asked, not guessed
        try:
            invoice = await find_invoice(self._client(tracker), tracker, use_context=False)
        except NoSuchInvoice as missing:
            dispatcher.utter_message(text=missing.message)
            return {}
        return {"invoice_number": invoice.number}

    async def validate_invoice_number(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        number = normalise_number(value)
        if number is None:
            dispatcher.utter_message(response="utter_invalid_invoice_number")
            return {"invoice_number": None}
        try:
            invoice = await self._client(tracker).invoice(number)
        except NotFound as error:
            dispatcher.utter_message(response="utter_share_invoice_not_found", message=error.message)
            return {"invoice_number": None}
        return {"invoice_number": invoice.number}

    async def extract_email(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        """While the email is asked for, a bare answer without a recognisable address counts as a
        failed try (interruptions, other intents, are left alone so the form can be interrupted)."""
        if tracker.get_slot(REQUESTED_SLOT) != "email" or entity(tracker, "email"):
            return {}
        candidate = email_candidate(tracker)
        if candidate:
            return {"email": candidate}
        if (tracker.latest_message.get("intent") or {}).get("name") in ("inform", "nlu_fallback"):
            return {"email": tracker.latest_message.get("text") or ""}
        return {}

    async def validate_email(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        return check_email(value, dispatcher, tracker, not_asked=(None,))


class ActionShareInvoice(BillingAction):
    """The form's submit: email the invoice PDF through the backend (it writes nothing when the
    mail server is down)."""

    reads = "send invoices"

    def name(self) -> str:
        return "action_share_invoice"

    async def act(self, dispatcher, tracker, domain, who: Identity, client) -> list[EventType]:
        number, to = tracker.get_slot("invoice_number"), tracker.get_slot("email")
        if not number or not valid_email(to):  # the form stopped early and said why
            return [SlotSet("email_tries", None)]
        try:
            shared = await client.share_invoice(number, to)
        except Unavailable as error:
            if error.code != "mail_unavailable":
                raise
            dispatcher.utter_message(text=render("invoices/mail_down", invoice=number, to=to), buttons=OFFER_PERSON)
            return [SlotSet("email_tries", None)]
        dispatcher.utter_message(
            text=render("invoices/shared", invoice=shared.invoice, to=list(shared.sent_to)), **completed("invoice_sent")
        )
        return [SlotSet("email_tries", None), SlotSet("email", None)]

    def on_error(self, error: BillingError, tracker: Tracker) -> list[EventType]:
        return [SlotSet("email_tries", None)]
