"""What the people forms (lead, callback, support) share: reading the latest message, and asking
for a detail in ONE message, saying what was wrong with the last answer when it was.

A form's validation action fills every detail a message states (the message that started the form
included) and, when the answer to the question asked can't be used, sets ``people_invalid`` to
the slot instead of replying itself; the form's ask action (``action_ask_<slot>``) then says what
is wrong and asks again in the same breath.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

INVALID = "people_invalid"
# A question in the middle of a form is answered by its rule, and the form asks again: the form
# must not take it as an answer (returning nothing rejects the form's turn).
QUESTIONS = {
    "faq",
    "ask_pricing",
    "product_info",
    "bot_challenge",
    "help",
    "check_balance",
    "list_invoices",
    "get_invoice",
    "view_subscription",
    "case_status",
}


def latest(tracker: Tracker) -> tuple[str, str, float]:
    """(text, intent, confidence) of the latest user message."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    return str(message.get("text") or ""), str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def requested(tracker: Tracker, form: str) -> str | None:
    """The slot the form asked for last, when ``form`` is the active one (None at activation)."""
    if (tracker.active_loop or {}).get("name") != form:
        return None
    return tracker.get_slot("requested_slot")


class AskAction(Action, ABC):
    """``action_ask_<slot>``: the question, or, after an answer that didn't work, what was wrong
    and the question again, as one message. Subclasses set ``slot`` and implement ``ask``."""

    slot = ""
    # The people_invalid values this question answers (a time can be wrong in several ways).
    reasons: tuple[str, ...] = ()

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, invalid: bool) -> None: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        invalid = tracker.get_slot(INVALID) in (self.slot, *self.reasons)
        await self.ask(dispatcher, tracker, invalid)
        return [SlotSet(INVALID, None)] if invalid else []


def ask_response(slot: str, question: str, again: str) -> type[AskAction]:
    """An AskAction that utters the response ``question``, or ``again`` after a bad answer."""

    class Ask(AskAction):
        async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, invalid: bool) -> None:
            dispatcher.utter_message(response=again if invalid else question)

    Ask.slot = slot
    Ask.__name__ = Ask.__qualname__ = "Ask" + "".join(p.title() for p in slot.split("_"))
    return Ask
