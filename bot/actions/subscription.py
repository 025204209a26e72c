"""The subscription as a whole: what is on it (``action_view_subscription``) and cancelling it,
which is never self-served: a sales handoff record, and an account manager calls
(``action_cancel_subscription``)."""
from __future__ import annotations

from rasa_sdk.events import EventType

from ._base import BillingAction, transcript
from ._render import PHONE, render
from .handoff import tell_gateway


class ActionViewSubscription(BillingAction):
    def name(self) -> str:
        return "action_view_subscription"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        me = await client.me()
        dispatcher.utter_message(text=render("changes/subscription", me=me, contract=me.contract))
        return []


class ActionCancelSubscription(BillingAction):
    def name(self) -> str:
        return "action_cancel_subscription"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        if not who.known:
            dispatcher.utter_message(response="utter_cancel_not_signed_in", phone=PHONE)
            return []
        handoff = await client.open_handoff(
            "sales", "Cancellation request", intent="cancel_subscription",
            conversation_id=tracker.sender_id, transcript=transcript(tracker),
        )
        await tell_gateway(handoff, tracker, who, client, intent="cancel_subscription", lead=None,
                           said=transcript(tracker, turns=20), page_url=None)
        dispatcher.utter_message(text=render("changes/cancellation", handoff=handoff))
        return []
