"""The subscription as a whole: what is on it (``action_view_subscription``) and cancelling it,
which is never self-served: a sales handoff record, and an account manager calls
(``action_cancel_subscription``).

A question about the billing side of the account ("what billing address do you have?", "who gets
our invoices?") is a read of the subscription too, and gets the billing details on file, with the
offer to change them, not the licence lines."""
from __future__ import annotations

import re

from rasa_sdk.events import EventType

from ._base import BillingAction, transcript
from ._render import PHONE, buttons, render
from .handoff import tell_gateway

BILLING_DETAILS = re.compile(
    r"\bbilling (details?|info\w*|address|contact|e-?mail|profile)|\b(address|contact|e-?mail)\b.{0,30}\binvoices?\b|"
    r"\binvoices? (go|goes|going|are sent|get sent)\b|"
    r"\b(send|sending) (our |the )?invoices\b|\bgets? (our |the )?invoices\b",
    re.IGNORECASE,
)


class ActionViewSubscription(BillingAction):
    def name(self) -> str:
        return "action_view_subscription"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        if BILLING_DETAILS.search(str(tracker.latest_message.get("text") or "")):
            profile = await client.billing_profile()  # billing refuses a user without Manage Billing
            dispatcher.utter_message(text=render("payments/billing_profile", profile=profile, changed=None, ask=False),
                                     buttons=buttons(("Change billing contact", "change the billing contact email"),
                                                     ("Change billing address", "change the billing address")))
            return []
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
