""""Yes" and "no" to whatever is waiting for confirmation.

A topic module that asks for confirmation stores what is pending in a slot (``pending_quote``,
``pending_payment``...) and registers what "yes" does with ``@on_confirm(slot)``. Then one rule
(affirm -> action_confirm, deny -> action_decline) serves every flow, and a "yes" with nothing
pending is answered honestly instead of doing something by accident.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError

from ._base import BillingAction, retry_is_safe
from ._identity import Identity

Handler = Callable[[CollectingDispatcher, Tracker, Identity, ActingClient, str], Awaitable[list[EventType]]]
_confirmers: dict[str, Handler] = {}
_decliners: dict[str, str] = {}  # slot -> response name said on "no"


def on_confirm(slot: str, *, declined_response: str) -> Callable[[Handler], Handler]:
    """Register what "yes" does while ``slot`` holds a value (the handler gets that value)."""
    def register(handler: Handler) -> Handler:
        _confirmers[slot] = handler
        _decliners[slot] = declined_response
        return handler
    return register


def pending(tracker: Tracker) -> tuple[str, str] | None:
    for slot in _confirmers:
        value = tracker.get_slot(slot)
        if value:
            return slot, value
    return None


class ActionConfirm(BillingAction):
    def name(self) -> str:
        return "action_confirm"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        waiting = pending(tracker)
        if waiting is None:
            dispatcher.utter_message(response="utter_nothing_pending")
            return []
        slot, value = waiting
        # Cleared once done, so a second "yes" does not repeat it; after an error see on_error.
        return [SlotSet(slot, None), *await _confirmers[slot](dispatcher, tracker, who, client, value)]

    def on_error(self, error: BillingError, tracker: Tracker) -> list[EventType]:
        waiting = pending(tracker)
        if waiting is None or retry_is_safe(error):
            # The order or payment went out with its idempotency key and no answer came back: it
            # may have been applied. "Yes" again sends the same key, so billing applies it at most
            # once and says which; a fresh request would carry a new key and could apply it twice.
            return []
        return [SlotSet(waiting[0], None)]



class ActionDecline(BillingAction):
    def name(self) -> str:
        return "action_decline"

    async def act(self, dispatcher, tracker, domain: dict[str, Any], who, client) -> list[EventType]:
        waiting = pending(tracker)
        if waiting is None:
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        slot, _ = waiting
        dispatcher.utter_message(response=_decliners[slot])
        return [SlotSet(slot, None)]
