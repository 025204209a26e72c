"""People: hand the conversation to a person (sales or support), and callback requests.

- ``talk_to_human``: a known customer's handoff is opened at once (``lead_form`` asks them
  nothing); an anonymous visitor first gives a name, work email, company and optionally a phone
  (``lead_form``), then ``action_handoff`` opens the handoff with that ``Lead``.
- ``request_callback``: ``callback_form`` asks for a phone number (checked as E.164, like the
  backend does) and a time window (buttons in the caller's time zone, or simple free text), then
  ``action_request_callback`` stores it.

The live bridge to the rep is the gateway's (bot/gateway/handoff): once billing has the record,
``tell_gateway`` hands it over (POST /handoff/internal/opened, GATEWAY_TOKEN) and learns whether
the queue is open now; out of hours the user gets the phone line and the offer of a callback.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.billing_client import ActingClient, BillingError, Handoff, Invalid, Lead

from ._base import BillingAction, acting, transcript
from ._identity import Identity, identity
from ._render import buttons, render

log = logging.getLogger(__name__)

GATEWAY_TIMEOUT_S = 3.0
SALES_INTENTS = {"ask_pricing", "product_info", "upgrade_edition", "buy_product", "add_licenses",
                 "cancel_subscription"}
DEFAULT_TIMEZONE = "America/New_York"
SKIP = re.compile(r"^\s*(no|nope|none|n/?a|skip|no thanks|no thank you|-|rather not|not now|no phone)\W*$",
                  re.IGNORECASE)
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


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
SALES_PEOPLE = re.compile(r"\b(sales|account (exec\w*|executive|manager|rep\w*))\b", re.IGNORECASE)


def queue_for(tracker: Tracker, who: Identity) -> str:
    """Sales for visitors, for a request naming a sales role, and for conversations about
    pricing, products, upgrades or cancelling; support otherwise."""
    if not who.known:
        return "sales"
    if SALES_PEOPLE.search(str(tracker.latest_message.get("text") or "")):
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


# -- phone numbers and time windows ---------------------------------------------------------------

def normalise_phone(value: str) -> str | None:
    """E.164 (+15551234567) the way the backend reads it, or None. A 10-digit number without a
    country code is taken as North American."""
    digits = re.sub(r"[\s\-.()]", "", value or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if len(digits) == 10 and digits.isdigit():
            digits = "+1" + digits
        elif len(digits) == 11 and digits.startswith("1") and digits.isdigit():
            digits = "+" + digits
    return digits if E164.match(digits) else None


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


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def label(self) -> str:
        def hour(t: datetime) -> str:
            h = t.hour % 12 or 12
            return f"{h}{':%02d' % t.minute if t.minute else ''} {'am' if t.hour < 12 else 'pm'}"
        return f"{self.start:%a} {self.start:%b} {self.start.day}, {hour(self.start)}–{hour(self.end)}"


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PARTS = {"morning": (9, 12), "afternoon": (13, 17), "evening": (17, 19), "lunch": (12, 13), "midday": (12, 13),
         "noon": (12, 13), "anytime": (9, 17), "any time": (9, 17), "whenever": (9, 17), "all day": (9, 17)}
CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
RANGE = re.compile(CLOCK + r"\s*(?:-|–|—|to|until|till|and)\s*" + CLOCK, re.IGNORECASE)
SINGLE = re.compile(r"(?:at|around|about|@)?\s*" + CLOCK, re.IGNORECASE)


def _hour(h: int, suffix: str | None) -> int:
    suffix = (suffix or "").replace(".", "").lower()
    if suffix == "pm" and h < 12:
        return h + 12
    if suffix == "am" and h == 12:
        return 0
    return h


def _guess(h: int) -> int:
    """A bare hour in business hours: 1-7 is afternoon, 8-12 morning/noon."""
    return h + 12 if 1 <= h <= 7 else h


def parse_window(text: str, now: datetime) -> Window | None:
    """'today 2-5 pm', 'tomorrow 9-12', 'Tomorrow 1–5 pm', 'friday morning', 'at 3pm',
    'tomorrow 10:30 to 11:30' -> an aware window in ``now``'s zone; None if not understood."""
    s = text.lower().strip()
    tz = now.tzinfo
    day: date | None = None
    if "today" in s or "this " in s or "tonight" in s:
        day = now.date()
    elif "tomorrow" in s or "tmrw" in s or "tmr" in s:
        day = now.date() + timedelta(days=1)
    else:
        for i, name in enumerate(WEEKDAYS):
            if re.search(rf"\b{name[:3]}(?:{name[3:]})?\b", s):
                ahead = (i - now.weekday()) % 7 or 7
                day = now.date() + timedelta(days=ahead)
                break
    hours: tuple[int, int, int, int] | None = None  # h1, m1, h2, m2
    found = RANGE.search(s)
    if found:
        h1, m1, a1, h2, m2, a2 = found.groups()
        h1, h2 = int(h1), int(h2)
        if a1 or a2:
            end = 12 if h2 == 12 else _hour(h2, a2 or a1)  # "9-12 am": until noon
            start = _hour(h1, a1) if a1 else (_hour(h1, a2) if _hour(h1, a2) < end else h1)
        else:
            start, end = _guess(h1), _guess(h2)
        hours = (start, int(m1 or 0), end, int(m2 or 0))
    else:
        part = next((v for k, v in PARTS.items() if re.search(rf"\b{k}\b", s)), None)
        if part:
            hours = (part[0], 0, part[1], 0)
        else:
            single = SINGLE.search(s)
            if single and (single.group(3) or re.search(r"\b(at|around|about)\s+\d", s) or single.group(2)):
                h = _hour(int(single.group(1)), single.group(3)) if single.group(3) else _guess(int(single.group(1)))
                hours = (h, int(single.group(2) or 0), h + 1, int(single.group(2) or 0))
    if hours is None:
        return None
    h1, m1, h2, m2 = hours
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and 0 <= m1 < 60 and 0 <= m2 < 60):
        return None
    if day is None:
        day = now.date()
        if datetime.combine(day, time(min(h2, 23), m2 if h2 < 24 else 59), tz) <= now:
            day += timedelta(days=1)
    start = datetime.combine(day, time(h1, m1), tz)
    end = datetime.combine(day, time(23, 59), tz) if h2 == 24 else datetime.combine(day, time(h2, m2), tz)
    if end <= start:
        return None
    return Window(start, end)


def window_buttons(now: datetime) -> list[dict[str, str]]:
    """Today 2–5 pm (while it is still ahead), Tomorrow 9–12, Tomorrow 1–5 pm. The payloads are
    plain text, parsed like anything typed."""
    choices = []
    if now.hour < 16:
        choices.append(("Today 2–5 pm", "today 2-5 pm"))
    choices += [("Tomorrow 9–12", "tomorrow 9-12"), ("Tomorrow 1–5 pm", "tomorrow 1-5 pm")]
    return buttons(*choices)


# -- lead form and handoff --------------------------------------------------------------------------

class ValidateLeadForm(FormValidationAction):
    """A visitor's name, work email, company and (optional) phone. Customers are known: nothing
    to ask."""

    def name(self) -> str:
        return "validate_lead_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        return [] if identity(tracker).known else domain_slots

    def validate_lead_name(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        name = re.sub(r"^(my name is|i am|i'm|this is|it's|name:)\s+", "", str(value or "").strip(), flags=re.I)
        name = name.strip(" .!")
        if not name or len(name) > 100 or "@" in name or not re.search(r"[^\W\d_]", name):
            dispatcher.utter_message(response="utter_lead_name_invalid")
            return {"lead_name": None}
        return {"lead_name": name}

    def validate_lead_email(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        found = EMAIL.search(str(value or ""))
        if not found:
            dispatcher.utter_message(response="utter_lead_email_invalid")
            return {"lead_email": None}
        return {"lead_email": found.group(0).lower()}

    def validate_lead_company(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        company = re.sub(r"^(i work (at|for)|we are|we're|company( is|:)?|it's|at)\s+", "", str(value or "").strip(),
                         flags=re.I).strip(" .!")
        if not company or len(company) > 200:
            dispatcher.utter_message(response="utter_ask_lead_company")
            return {"lead_company": None}
        return {"lead_company": company}

    def validate_lead_phone(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "")
        if SKIP.match(text):
            return {"lead_phone": "none"}
        phone = normalise_phone(text)
        if phone is None:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"lead_phone": None}
        return {"lead_phone": phone}


def lead_of(tracker: Tracker) -> Lead | None:
    name, email = tracker.get_slot("lead_name"), tracker.get_slot("lead_email")
    if not name or not email:
        return None
    phone = tracker.get_slot("lead_phone")
    return Lead(name=name, email=email, company=tracker.get_slot("lead_company") or None,
                phone=phone if phone and phone != "none" else None)


def gateway_url() -> str:
    """GATEWAY_URL, else the gateway's GATEWAY_HOST and GATEWAY_PORT (the same .env as the gateway)."""
    return (os.environ.get("GATEWAY_URL") or
            f"http://{os.environ.get('GATEWAY_HOST') or '127.0.0.1'}:{os.environ.get('GATEWAY_PORT') or 8080}").rstrip("/")


async def tell_gateway(handoff: Handoff, tracker: Tracker, who: Identity, client: ActingClient, *,
                       intent: str | None, lead: Lead | None, said: list[dict[str, Any]],
                       page_url: str | None) -> dict[str, Any] | None:
    """Hand the new handoff to the gateway (Slack post, live bridge). Its answer: {"open": bool,
    "hours": ..., "phone": ...}; None when the gateway can't be reached (the record exists anyway:
    reps see it in billing, and the user was given the phone number)."""
    org = None
    if who.known:
        try:
            org = (await client.me()).org
        except BillingError:
            org = None
    body = {"number": handoff.number, "conversation_id": tracker.sender_id, "queue": handoff.queue,
            "reason": handoff.reason, "intent": intent, "org": org, "edition": handoff.edition,
            "page_url": page_url, "channel": who.channel, "transcript": said, "email": who.email,
            "lead": {"name": lead.name, "email": lead.email, "company": lead.company, "phone": lead.phone}
            if lead else {}}
    return await _to_gateway("/handoff/internal/opened", body, handoff.number)


async def _to_gateway(path: str, body: dict[str, Any], what: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT_S, trust_env=False) as http:
            answer = await http.post(f"{gateway_url()}{path}", json=body,
                                     headers={"Authorization": f"Bearer {os.environ.get('GATEWAY_TOKEN', '')}"})
        if answer.status_code != 200:
            log.warning("gateway refused %s: %s", what, answer.status_code)
            return None
        found = answer.json()
        return found if isinstance(found, dict) else None
    except (httpx.HTTPError, ValueError) as error:
        log.warning("gateway not told of %s: %s", what, type(error).__name__)
        return None


class ActionHandoff(BillingAction):
    def name(self) -> str:
        return "action_handoff"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  who: Identity, client: ActingClient) -> list[EventType]:
        lead = None if who.known else lead_of(tracker)
        if not who.known and lead is None:
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        queue = queue_for(tracker, who)
        page_url = who.metadata.get("page_url")
        page_url = page_url if isinstance(page_url, str) else None
        intent, said = topic_intent(tracker), transcript(tracker)
        handoff = await client.open_handoff(
            queue, reason_for(tracker, queue, who), intent=intent, lead=lead, transcript=said, page_url=page_url,
            conversation_id=tracker.sender_id,
        )
        # The rep gets more of the conversation than the record keeps: a visitor's lead form alone
        # is eight turns, and what they asked before it is what matters.
        status = await tell_gateway(handoff, tracker, who, client, intent=intent, lead=lead,
                                    said=transcript(tracker, turns=20), page_url=page_url)
        if status is not None and status.get("open") is False:
            dispatcher.utter_message(text=render("basics/handoff_closed", handoff=handoff, queue=queue.capitalize(),
                                                 hours=status.get("hours") or "", lead=lead),
                                     buttons=buttons(("Call me back", "/request_callback")))
            return [SlotSet("handoff_number", handoff.number)]
        dispatcher.utter_message(text=render("basics/handoff", handoff=handoff, queue=queue.capitalize(), lead=lead),
                                 buttons=buttons(("Call me back instead", "/request_callback")))
        return [SlotSet("handoff_number", handoff.number)]


# -- callback form and request ----------------------------------------------------------------------

class ActionAskCallbackTime(Action):
    """Ask for the time window, with buttons in the caller's time zone."""

    def name(self) -> str:
        return "action_ask_callback_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        who = identity(tracker)
        try:
            tz = await timezone_for(who, acting(who))
        except BillingError:
            tz = DEFAULT_TIMEZONE
        now = datetime.now(ZoneInfo(tz))
        dispatcher.utter_message(text=render("basics/ask_callback_time", timezone=tz), buttons=window_buttons(now))
        return []


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        # Only a visitor who hasn't given a name yet is asked for one (first).
        if identity(tracker).known or tracker.get_slot("lead_name"):
            return [s for s in domain_slots if s != "lead_name"]
        return domain_slots

    def validate_lead_name(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        return ValidateLeadForm.validate_lead_name(self, value, dispatcher, tracker, domain)  # type: ignore[arg-type]

    def validate_callback_phone(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        phone = normalise_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"callback_phone": None}
        return {"callback_phone": phone}

    async def validate_callback_time(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        if isinstance(value, dict) and value.get("start"):
            return {"callback_time": value}  # validated already
        who = identity(tracker)
        tz = await timezone_for(who, acting(who))
        now = datetime.now(ZoneInfo(tz))
        window = parse_window(str(value or ""), now)
        if window is None or window.end <= now:
            dispatcher.utter_message(text=render("basics/callback_time_invalid", past=window is not None, timezone=tz),
                                     buttons=window_buttons(now))
            return {"callback_time": None}
        return {"callback_time": {"start": window.start.isoformat(), "end": window.end.isoformat(), "timezone": tz}}


class ActionRequestCallback(BillingAction):
    def name(self) -> str:
        return "action_request_callback"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  who: Identity, client: ActingClient) -> list[EventType]:
        phone, when = tracker.get_slot("callback_phone"), tracker.get_slot("callback_time")
        if not phone or not isinstance(when, dict):
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        name = who.name
        if who.known and not name:
            try:
                name = (await client.me()).name
            except BillingError:
                name = None
        name = name or tracker.get_slot("lead_name") or who.email or "Customer"
        queue = queue_for(tracker, who)
        try:
            callback = await client.request_callback(
                name, phone, window_start=datetime.fromisoformat(when["start"]),
                window_end=datetime.fromisoformat(when["end"]), timezone=when["timezone"], queue=queue,
                note=reason_for(tracker, queue, who), handoff=tracker.get_slot("handoff_number"),
                conversation_id=tracker.sender_id,
            )
        except Invalid as error:
            if "phone" in error.fields:
                dispatcher.utter_message(response="utter_phone_invalid")
                return [SlotSet("callback_phone", None), FollowupAction("callback_form")]
            if "window" in error.fields:
                dispatcher.utter_message(text=render("basics/callback_time_invalid", past=True,
                                                     timezone=when["timezone"]))
                return [SlotSet("callback_time", None), FollowupAction("callback_form")]
            raise
        window = Window(callback.window_start.astimezone(ZoneInfo(callback.timezone)),
                        callback.window_end.astimezone(ZoneInfo(callback.timezone)))
        await _to_gateway("/handoff/internal/callback", {  # posted to the queue's channel
            "number": callback.number, "queue": callback.queue, "name": callback.name, "phone": callback.phone,
            "window": window.label(), "timezone": callback.timezone, "handoff": tracker.get_slot("handoff_number"),
            "conversation_id": tracker.sender_id, "channel": who.channel}, callback.number)
        dispatcher.utter_message(text=render("basics/callback", callback=callback, window=window.label()))
        return [SlotSet("callback_phone", None), SlotSet("callback_time", None)]

    def on_error(self, error, tracker: Tracker) -> list[EventType]:
        return [SlotSet("callback_phone", None), SlotSet("callback_time", None)]
