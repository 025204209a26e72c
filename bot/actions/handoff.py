"""People: hand the conversation to a person (sales or support), and say when one will reply.

- ``talk_to_human``: a known customer's handoff is opened at once (``lead_form`` asks them
  nothing); an anonymous visitor first gives a name, work email, company and optionally a phone
  (``lead_form``, bot/actions/leads.py), then ``action_handoff`` opens the handoff with that lead.
- Nothing is opened the customer did not choose: a request for a person the classifier is unsure
  of (frustration, a complaint) is offered as a choice, and a second request in a conversation
  that has an open handoff answers with that handoff instead of opening another.
- "When will someone reply?" (``expectation``) follows the queue's opening hours
  (bot/opening_hours.py) in the customer's time zone. Callbacks: bot/actions/callbacks.py.

The live bridge to the rep is the gateway's (bot/gateway/handoff): once billing has the record,
``tell_gateway`` hands it over (POST /handoff/internal/opened, GATEWAY_TOKEN) and learns whether
the queue is open now; out of hours the user gets the phone line and the offer of a callback.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError, Handoff, Lead
from bot.opening_hours import QueueHours, when_label

from . import _clock, _metrics
from ._base import BillingAction, transcript
from ._identity import Identity
from ._render import buttons, render
from .leads import lead_of

log = logging.getLogger(__name__)

GATEWAY_TIMEOUT_S = 3.0
SALES_INTENTS = {"ask_pricing", "product_info", "upgrade_edition", "buy_product", "add_licenses", "cancel_subscription"}
DEFAULT_TIMEZONE = "America/New_York"
# A typed request for a person under this confidence is offered, not acted on: "ugh, this is so
# frustrating" may be a wish for a person, or not.
SURE = 0.7


# -- what the conversation was about ------------------------------------------------------------


def user_intents(tracker: Tracker, limit: int = 8) -> list[str]:
    """The intents of the latest user turns, newest first."""
    found = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            found.append(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")
            if len(found) >= limit:
                break
    return found


# Asking for a person by a sales role ("my account exec", "our account manager") means sales.
# ("sales tax" is not a person from sales.)
SALES_PEOPLE = re.compile(
    r"^\W*sales\b|\b((from|in|to|with) sales|sales (team|rep\w*|person|people|department|folks)"
    r"|account (exec\w*|manager|rep\w*))\b",
    re.IGNORECASE,
)


def typed_recently(tracker: Tracker, limit: int = 8) -> list[str]:
    """The customer's latest typed messages, newest first (button presses are skipped: "Yes,
    connect me" after "can I speak to an account executive?" is about what was typed)."""
    found = []
    for event in reversed(tracker.events):
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        if text and not text.startswith("/"):
            found.append(text)
            if len(found) >= limit:
                break
    return found


def queue_for(tracker: Tracker, who: Identity) -> str:
    """Sales for visitors, for a request naming a sales role, and for conversations about
    pricing, products, upgrades or cancelling; support otherwise."""
    if not who.known:
        return "sales"
    if any(SALES_PEOPLE.search(text) for text in typed_recently(tracker)):
        return "sales"
    return "sales" if SALES_INTENTS & set(user_intents(tracker)) else "support"


def topic_intent(tracker: Tracker) -> str | None:
    """The latest intent that says what the conversation was about (not the request for a
    person, the form answers or the small talk)."""
    skip = {"talk_to_human", "request_callback", "inform", "affirm", "deny", "greet", "thank", "nlu_fallback", ""}
    return next((i for i in user_intents(tracker) if i not in skip), None)


def reason_for(tracker: Tracker, queue: str, who: Identity) -> str:
    topic = topic_intent(tracker)
    who_asks = "Customer" if who.known else "Website visitor"
    about = f" after {topic.replace('_', ' ')}" if topic else ""
    quote = tracker.get_slot("pending_quote")  # e.g. a large order's quote: "Talk to sales first"
    waiting = f" (quote {quote} not placed)" if quote else ""
    return f"{who_asks} asked for a person from {queue}{about}{waiting}"[:200]


# -- time zones -----------------------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def timezone_for(who: Identity, client: ActingClient) -> str:
    """The org's time zone for a customer, the widget's for a visitor (metadata ``timezone``),
    else America/New_York."""
    if who.known:
        try:
            tz = (await client.me()).timezone
            if zone(tz):
                return tz
        except BillingError:
            pass
    meta_tz = who.metadata.get("timezone")
    return meta_tz if isinstance(meta_tz, str) and zone(meta_tz) else DEFAULT_TIMEZONE


def gateway_url() -> str:
    """GATEWAY_URL, else the gateway's GATEWAY_HOST and GATEWAY_PORT (the same .env as the gateway)."""
    return (
        os.environ.get("GATEWAY_URL")
        or f"http://{os.environ.get('GATEWAY_HOST') or '127.0.0.1'}:{os.environ.get('GATEWAY_PORT') or 8080}"
    ).rstrip("/")


async def tell_gateway(
    handoff: Handoff,
    tracker: Tracker,
    who: Identity,
    client: ActingClient,
    *,
    intent: str | None,
    lead: Lead | None,
    said: list[dict[str, Any]],
    page_url: str | None,
) -> dict[str, Any] | None:
    """Hand the new handoff to the gateway (Slack post, live bridge). Its answer: {"open": bool,
    "hours": ..., "phone": ...}; None when the gateway can't be reached (the record exists anyway:
    reps see it in billing, and the user was given the phone number)."""
    _metrics.handoff_opened(handoff.queue, who.channel)
    org = None
    if who.known:
        try:
            org = (await client.me()).org
        except BillingError:
            org = None
    body = {
        "number": handoff.number,
        "conversation_id": tracker.sender_id,
        "queue": handoff.queue,
        "reason": handoff.reason,
        "intent": intent,
        "org": org,
        "edition": handoff.edition,
        "page_url": page_url,
        "channel": who.channel,
        "transcript": said,
        "email": who.email,
        "lead": {"name": lead.name, "email": lead.email, "company": lead.company, "phone": lead.phone} if lead else {},
    }
    return await _to_gateway("/handoff/internal/opened", body, handoff.number)


async def _to_gateway(path: str, body: dict[str, Any], what: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT_S, trust_env=False) as http:
            answer = await http.post(
                f"{gateway_url()}{path}",
                json=body,
                headers={"Authorization": f"Bearer {os.environ.get('GATEWAY_TOKEN', '')}"},
            )
        if answer.status_code != 200:
            log.warning("gateway refused %s: %s", what, answer.status_code)
            return None
        found = answer.json()
        return found if isinstance(found, dict) else None
    except (httpx.HTTPError, ValueError) as error:
        log.warning("gateway not told of %s: %s", what, type(error).__name__)
        return None


def expectation(queue: str, now: datetime) -> tuple[bool, str]:
    """(open now, when a person can be expected, in the customer's words)."""
    hours = QueueHours.from_env(queue)
    if hours.is_open(now):
        return True, f"{queue.capitalize()} is open now ({hours.label()}), so a person usually replies within minutes"
    opening = hours.next_opening(now)
    back = f"they're back {when_label(opening, now)} your time" if opening else "they're away for now"
    return False, f"Our {queue.capitalize()} team is away right now (hours: {hours.label()}); {back}"


async def customer_now(tracker: Tracker, who: Identity, client: ActingClient) -> datetime:
    try:
        tz = await timezone_for(who, client)
    except BillingError:
        tz = DEFAULT_TIMEZONE
    return _clock.now(tracker, tz)


def handed_back(tracker: Tracker) -> bool:
    """Whether a rep took the conversation and gave it back since the handoff was opened (the
    gateway's claim pauses the conversation and its close resumes it): that handoff is done."""
    for event in reversed(tracker.events):
        if event.get("event") == "resume":
            return True
        if event.get("event") == "slot" and event.get("name") == "handoff_number":
            return False
    return False


async def open_handoff_of(tracker: Tracker, who: Identity, client: ActingClient) -> Handoff | None:
    """The handoff this conversation opened, while it is still open."""
    number = tracker.get_slot("handoff_number")
    if not number or handed_back(tracker):
        return None
    try:
        handoff = await client.handoff(number, conversation_id=None if who.known else tracker.sender_id)
    except BillingError:
        return None
    return handoff if handoff.status != "closed" else None


def unsure_request(tracker: Tracker) -> bool:
    """A typed message the classifier only half took for a request for a person (a button press
    or a form's end is a choice)."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    text = str(message.get("text") or "")
    return (
        intent.get("name") == "talk_to_human"
        and not text.startswith("/")
        and float(intent.get("confidence") or 0.0) < SURE
        and not SALES_PEOPLE.search(text)  # "can I speak to an account executive ...": a clear ask
    )


class ActionHandoff(BillingAction):
    def name(self) -> str:
        return "action_handoff"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]:
        lead = None if who.known else lead_of(tracker)
        if not who.known and lead is None:
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        queue = queue_for(tracker, who)
        existing = await open_handoff_of(tracker, who, client)
        if existing is not None:
            _, when = expectation(existing.queue, await customer_now(tracker, who, client))
            dispatcher.utter_message(
                text=render("basics/handoff_pending", handoff=existing, when=when),
                buttons=buttons(("Call me back instead", "/request_callback")),
            )
            return []
        if who.known and unsure_request(tracker):
            dispatcher.utter_message(response="utter_offer_person")
            return []
        page_url = who.metadata.get("page_url")
        page_url = page_url if isinstance(page_url, str) else None
        intent, said = topic_intent(tracker), transcript(tracker)
        handoff = await client.open_handoff(
            queue,
            reason_for(tracker, queue, who),
            intent=intent,
            lead=lead,
            transcript=said,
            page_url=page_url,
            conversation_id=tracker.sender_id,
        )
        # The rep gets more of the conversation than the record keeps: a visitor's lead form alone
        # is eight turns, and what they asked before it is what matters.
        status = await tell_gateway(
            handoff,
            tracker,
            who,
            client,
            intent=intent,
            lead=lead,
            said=transcript(tracker, turns=20),
            page_url=page_url,
        )
        now = await customer_now(tracker, who, client)
        open_now, when = expectation(queue, now)
        if not open_now or (status is not None and status.get("open") is False):
            hours = (status or {}).get("hours") or QueueHours.from_env(queue).label()
            back = when.split("; ", 1)[1] if "; " in when and open_now is False else ""
            dispatcher.utter_message(
                text=render(
                    "basics/handoff_closed",
                    handoff=handoff,
                    queue=queue.capitalize(),
                    hours=hours,
                    lead=lead,
                    back=back,
                ),
                buttons=buttons(("Call me back", "/request_callback")),
            )
            return [SlotSet("handoff_number", handoff.number)]
        dispatcher.utter_message(
            text=render("basics/handoff", handoff=handoff, queue=queue.capitalize(), lead=lead),
            buttons=buttons(("Call me back instead", "/request_callback")),
        )
        return [SlotSet("handoff_number", handoff.number)]
