"""The change forms' shared parts (license, product and upgrade forms): ``ChangeFormValidation``
(values only from the message that starts a form, friendly re-asks, help after two failed tries,
any billing refusal ends the form with the central explanation) and ``AskQuantity`` (the "how
many?" question, silent when a refusal just asked it again)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError

from ._base import OFFER_PERSON, acting, clear, explain
from ._identity import identity
from .pricing import PRICED_PRODUCT, just_answered
from .quotes import REQUESTED, TRIES, Refusals, Stop, asking_again, latest_intent, mentioned_entities, product_name

# -- forms -----------------------------------------------------------------------------------------


class ChangeFormValidation(Action, ABC):
    """``validate_<form>`` for the change forms.

    Answers only messages that are about the form (its trigger intents, ``inform``, or its
    entities); anything else returns no events, so Rasa rejects the form for this turn and the
    interruption rules answer it, then the form asks again.
    """

    form: str = ""
    slots: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    # Whether a request naming no product takes the one just answered about only when it points back
    # ("5 of those"): "add 5 licenses" means the edition's seats, "upgrade us" the next edition; a
    # purchase ("I'll take 4") right after a product answer is of that product.
    context_needs_pointer: bool = True

    def name(self) -> str:
        return f"validate_{self.form}"

    @abstractmethod
    async def fill(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        client: ActingClient,
        values: dict[str, Any],
        mentioned: set[str],
    ) -> tuple[dict[str, Any], Refusals]:
        """Defaults and validation: the new values, and for each refused value what to say."""
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = latest_intent(tracker)
        mentioned = mentioned_entities(tracker)
        starting = intent in self.triggers
        if not (starting or intent == "inform" or mentioned & set(self.slots)):
            return []
        values = {slot: tracker.get_slot(slot) for slot in self.slots}
        if starting:  # only what this message says: nothing left over from earlier turns
            values = {slot: value if slot in mentioned else None for slot, value in values.items()}
            pointed_at = (
                pointed_back_at(tracker, needs_pointer=self.context_needs_pointer)
                if "product" in self.slots and "product" not in mentioned
                else None
            )
            if pointed_at:
                values["product"], mentioned = pointed_at, mentioned | {"product"}
        stop = [*clear(*self.slots, TRIES), SlotSet(REQUESTED, None)]
        try:
            values, refused = await self.fill(dispatcher, tracker, acting(identity(tracker)), values, mentioned)
        except Stop as stopped:
            return [*stop, *stopped.events]
        except BillingError as error:
            explain(
                dispatcher, error, again=asking_again(self.triggers[0], values.get("product"), values.get("quantity"))
            )
            return stop
        events: list[EventType] = [SlotSet(slot, value) for slot, value in values.items()]
        requested = tracker.get_slot(REQUESTED)
        if not starting and requested in self.slots and values.get(requested) is None:
            tries = int(tracker.get_slot(TRIES) or 0) + 1
            events.append(SlotSet(TRIES, tries))
            if tries >= 2:  # help instead of the same complaint again
                refused.pop(requested, None)
                refused[requested] = {"response": f"utter_help_{requested}", "buttons": OFFER_PERSON}
            else:
                refused.setdefault(requested, {"response": f"utter_not_understood_{requested}"})
        elif requested in self.slots:
            events.append(SlotSet(TRIES, None))
        for message in refused.values():
            dispatcher.utter_message(**message)
        return events


# Words that point back at the product just answered about; not "one" ("add one license").
POINTS_BACK = re.compile(r"\b(it|that|this|those|these|them|same)\b", re.IGNORECASE)


def pointed_back_at(tracker: Tracker, *, needs_pointer: bool = True) -> str | None:
    """The product of the price or product answer just given, when the request points back at it
    ("we'll take 5 of those", "add that for 10 users") or, without ``needs_pointer``, names none
    ("I'll take 4"); "add 5 licenses" names no product and points at none, so it keeps meaning the
    edition's seats."""
    text = str(tracker.latest_message.get("text") or "")
    if just_answered(tracker) and (POINTS_BACK.search(text) or not needs_pointer):
        return tracker.get_slot(PRICED_PRODUCT) or None
    return None


QUANTITY_REASKS = (
    "utter_invalid_quantity",
    "utter_quantity_too_large",
    "utter_not_understood_quantity",
    "utter_help_quantity",
)


def asked_this_turn(tracker: Tracker, domain: dict[str, Any], responses: tuple[str, ...]) -> bool:
    """Whether one of ``responses`` was said since the customer's latest message (then the form's
    question would only repeat it: one message per invalid answer)."""
    texts = {
        str(variant.get("text") or "")
        for name in responses
        for variant in (domain.get("responses") or {}).get(name) or []
    } - {""}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and str(event.get("text") or "") in texts:
            return True
    return False


class AskQuantity(Action, ABC):
    """A change form's "How many?", unless the validation's answer just asked it."""

    response: str = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not asked_this_turn(tracker, domain, QUANTITY_REASKS):
            product = tracker.get_slot("product")
            dispatcher.utter_message(response=self.response, product_name=product_name(product) if product else "")
        return []
