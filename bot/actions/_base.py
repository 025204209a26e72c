"""What every billing action shares: the acting identity, the billing client, and turning the
backend's refusals and outages into clear replies (nothing is ever half applied: the backend
either did the whole change or none of it)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import (
    ActingClient,
    BillingClient,
    BillingError,
    Channel,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PaymentFailed,
    Unavailable,
)

from . import _metrics
from ._identity import Identity, identity
from ._render import PHONE, buttons, render

log = logging.getLogger(__name__)

# Keyed by the loop itself, not id(loop): a closed loop's id can be reused by a new loop, which
# would then inherit a pool bound to the dead loop (and to whatever BILLING_URL was then).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BillingClient] = weakref.WeakKeyDictionary()


def billing() -> BillingClient:
    """One client (one connection pool) per event loop of the action server."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = BillingClient.from_env()
    return client


# The channels a turn may come from, as billing names them (anything else acts as "api").
BILLING_CHANNELS: dict[str, Channel] = {
    "slack": "slack",
    "widget": "widget",
    "shell": "shell",
    "api": "api",
    "test": "test",
}


def acting(who: Identity) -> ActingClient:
    channel = BILLING_CHANNELS.get(who.channel, "api")
    if not who.email:
        return billing().as_visitor(channel=channel)
    # A Slack identity without its team is refused by billing, as it should be: nothing to add here.
    return billing().as_user(who.email, channel=channel, slack_team=who.slack_team if channel == "slack" else None)


OFFER_PERSON = buttons(("Talk to a person", "/talk_to_human"))


def explain(
    dispatcher: CollectingDispatcher,
    error: BillingError,
    *,
    again: str | None = None,
    answers: list[dict[str, str]] | None = None,
    read: str | None = None,
) -> None:
    """Say what went wrong, in the customer's terms, and what they can do. ``again``: the payload
    that asks for the same thing once more, offered as "Try again" when billing could not be
    reached and nothing was changed (the request itself starts afresh, so nothing is lost).
    ``answers``: the Yes/No of a pending order or payment, offered when saying yes again is safe.
    ``read``: what the customer asked to see, when it was a read ("show invoices"): a refusal then
    says it can't show it, not that nothing was changed."""
    if isinstance(error, Forbidden) and error.code == "needs_manage_billing":
        dispatcher.utter_message(text=render("errors/needs_manage_billing", admins=error.admins, read=read))
    elif isinstance(error, Forbidden) and error.code in ("unknown_user", "no_acting_user"):
        dispatcher.utter_message(text=render("errors/not_signed_in", code=error.code))
    elif isinstance(error, Unavailable):
        # A write that timed out may have gone through: then the client's message says so honestly.
        certain = error.code not in ("timeout", "no_answer") or "nothing was changed" in error.message
        offer = buttons(("Try again", again)) + OFFER_PERSON if again and certain else OFFER_PERSON
        if answers and retry_is_safe(error):
            offer = answers + OFFER_PERSON
        dispatcher.utter_message(
            text=render("errors/unavailable", message=error.message, certain=certain, retry=retry_is_safe(error)),
            buttons=offer,
        )
    elif isinstance(error, (NotFound, Conflict, Invalid, PaymentFailed, Forbidden)):
        dispatcher.utter_message(text=error.message)
    else:
        log.warning("billing error %s %s", error.code, error.message)
        dispatcher.utter_message(text=render("errors/unexpected", phone=PHONE), buttons=OFFER_PERSON)


def permission_admins(error: BillingError) -> list[EventType]:
    """After a Manage Billing refusal: the admins billing named, kept in ``permission_admins`` so
    that "who can give me that permission?" is answered with the same people."""
    if isinstance(error, Forbidden) and error.code == "needs_manage_billing" and error.admins:
        return [SlotSet("permission_admins", [{"name": name, "email": email} for name, email in error.admins])]
    return []


def retry_is_safe(error: BillingError) -> bool:
    """Billing did not answer an order or payment sent with its idempotency key: it may have been
    applied, and sending the same key again applies it at most once (ActionConfirm keeps the
    pending quote or payment for that "yes")."""
    return isinstance(error, Unavailable) and error.details.get("safe_to_retry") is True


class BillingAction(Action, ABC):
    """Subclasses implement ``name`` and ``act``; billing errors become replies, and the events
    the action returned so far are kept only when it succeeded. (Abstract, so the action server
    does not register it as an action itself.) ``reads``: what an action that only reads shows
    ("show invoices"), for the wording of a refusal."""

    reads: str | None = None

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]: ...

    def on_error(self, error: BillingError, tracker: Tracker) -> list[EventType]:
        """Events to return after a failure (e.g. clear a pending quote). Default: none."""
        return []

    def explain(self, dispatcher: CollectingDispatcher, error: BillingError, tracker: Tracker) -> None:
        """What to say after a failure. Default: ``explain``."""
        explain(dispatcher, error, read=self.reads)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        who = identity(tracker)
        try:
            return await self.act(dispatcher, tracker, domain, who, acting(who))
        except BillingError as error:
            _metrics.billing_error(error)
            self.explain(dispatcher, error, tracker)
            return [*self.on_error(error, tracker), *permission_admins(error)]


TRANSCRIPT_TURNS = 10


def transcript(tracker: Tracker, turns: int = TRANSCRIPT_TURNS) -> list[dict[str, Any]]:
    """The last ``turns`` user and bot texts, oldest first, for the person taking over a handoff:
    [{"from": "user"|"bot", "text": ..., "at": timestamp}]."""
    said = [
        {"from": e["event"], "text": str(e["text"])[:2000], "at": e.get("timestamp")}
        for e in tracker.events
        if e.get("event") in ("user", "bot") and e.get("text")
    ]
    return said[-turns:]


def clear(*slots: str) -> list[EventType]:
    return [SlotSet(slot, None) for slot in slots]
