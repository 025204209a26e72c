"""Callback requests: ``callback_form`` takes a phone number (E.164, as the backend reads it) and a
time window, both from any message ("call me back tomorrow morning at +1 415 555 0100" fills both
at once), and a visitor's name; ``action_request_callback`` stores it.

The windows follow the queue's opening hours (bot/opening_hours.py) in the caller's time zone:
the buttons are the next open slots only (Monday's on a Saturday evening), and a wished time when
nobody works ("tomorrow morning" on a Saturday) is answered with the hours and those slots. "Now"
comes from bot/actions/_clock.py, so tests can fix it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.billing_client import ActingClient, BillingError, Invalid
from bot.nlu.callback_times import parse_window
from bot.opening_hours import QueueHours, Window, parse_iso_window

from . import _clock
from ._base import BillingAction, acting
from ._form_answers import INVALID, QUESTIONS, AskAction, ask_response, latest, requested
from ._identity import Identity, identity
from ._render import payload, render
from ._tasks import completed
from .handoff import DEFAULT_TIMEZONE, _to_gateway, queue_for, reason_for, timezone_for
from .leads import lead_answers

FORM = "callback_form"
CLOSED = "callback_time_closed"  # people_invalid: the wished time is outside opening hours
PAST = "callback_time_past"


async def caller_now(tracker: Tracker, who: Identity, client: ActingClient) -> datetime:
    try:
        tz = await timezone_for(who, client)
    except BillingError:
        tz = DEFAULT_TIMEZONE
    return _clock.now(tracker, tz)


def queue_hours(tracker: Tracker, who: Identity) -> QueueHours:
    return QueueHours.from_env(queue_for(tracker, who))


def slot_buttons(hours: QueueHours, now: datetime) -> list[dict[str, str]]:
    """The next open slots, labelled in the caller's time. The payload names its intent (a bare
    window's text would be left to the classifier) and carries the window, read back from the text."""
    return [
        {"title": w.label(now), "payload": payload("inform", callback_window=w.payload())} for w in hours.slots(now)
    ]


def wished_window(text: str, now: datetime) -> Window | None:
    """A slot's payload, or a time in words ("tomorrow 9-12", "Monday morning", "at 3pm")."""
    found = parse_iso_window(text)
    if found:
        return found
    typed = parse_window(text, now)
    return Window(typed.start, typed.end) if typed else None


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Only a visitor who hasn't given a name yet is asked for one (first).
        if identity(tracker).known or tracker.get_slot("lead_name"):
            return [s for s in domain_slots if s != "lead_name"]
        return domain_slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        who = identity(tracker)
        text, intent, _ = latest(tracker)
        asked = requested(tracker, FORM)
        when: dict[str, Any] = {}
        if asked == "callback_time" or not tracker.get_slot("callback_time"):
            when = await self.time_from(text, tracker, who, asked == "callback_time")
        people = {"phone": "callback_phone"} if who.known else {"name": "lead_name", "phone": "callback_phone"}
        details = dict(lead_answers(tracker, FORM, people) or {})
        if asked == "callback_time" or when.get("callback_time"):
            details.pop(INVALID, None)  # the answer was about the time
        values = {**when, **details} if INVALID in details else {**details, **when}
        lead_phone = tracker.get_slot("lead_phone")
        if asked is None and not values.get("callback_phone") and lead_phone and lead_phone != "none":
            values["callback_phone"] = lead_phone  # given for the handoff already: not asked again
        if not any(v for k, v in values.items() if k != INVALID) and (intent in QUESTIONS or intent == "deny"):
            return []  # a question or a no: its rule answers (and the form asks again, or stops)
        # The next question: this form's own order (a customer is never asked a name).
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        filled = {**{slot: tracker.get_slot(slot) for slot in required}, **values}
        next_slot = next((slot for slot in required if not filled.get(slot)), None)
        return [SlotSet(slot, value) for slot, value in values.items()] + [SlotSet("requested_slot", next_slot)]

    async def time_from(self, text: str, tracker: Tracker, who: Identity, asked: bool) -> dict[str, Any]:
        """callback_time from ``text`` (the open part of the wished window), or, when the time was
        asked for and can't be used, people_invalid saying why; {} when ``text`` names no time."""
        now = await caller_now(tracker, who, acting(who))
        wished = wished_window(text, now)
        if wished is None:
            return {INVALID: "callback_time"} if asked else {}
        if wished.end <= now:
            return {INVALID: PAST} if asked else {}
        window = queue_hours(tracker, who).overlap(Window(max(wished.start, now), wished.end))
        if window is None:
            return {INVALID: CLOSED, "callback_time": None}
        tz = str(now.tzinfo)
        return {
            "callback_time": {
                "start": window.start.astimezone(now.tzinfo).isoformat(),
                "end": window.end.astimezone(now.tzinfo).isoformat(),
                "timezone": tz,
            }
        }


class ActionAskCallbackTime(AskAction):
    """When should we call: the next open slots as buttons, in the caller's time zone; after a
    time that can't be used, why, in the same message."""

    slot = "callback_time"
    reasons = (CLOSED, PAST)

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, invalid: bool) -> None:
        who = identity(tracker)
        now = await caller_now(tracker, who, acting(who))
        hours = queue_hours(tracker, who)
        why = tracker.get_slot(INVALID) if invalid else None
        dispatcher.utter_message(
            text=render(
                "basics/ask_callback_time",
                timezone=str(now.tzinfo),
                why=why,
                queue=hours.name.capitalize(),
                hours=hours.label(),
            ),
            buttons=slot_buttons(hours, now),
        )


AskCallbackPhone = ask_response("callback_phone", "utter_ask_callback_phone", "utter_callback_phone_invalid")


class ActionRequestCallback(BillingAction):
    def name(self) -> str:
        return "action_request_callback"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]:
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
                name,
                phone,
                window_start=datetime.fromisoformat(when["start"]),
                window_end=datetime.fromisoformat(when["end"]),
                timezone=when["timezone"],
                queue=queue,
                note=reason_for(tracker, queue, who),
                handoff=tracker.get_slot("handoff_number"),
                conversation_id=tracker.sender_id,
            )
        except Invalid as error:
            if "phone" in error.fields:
                return [
                    SlotSet("callback_phone", None),
                    SlotSet(INVALID, "callback_phone"),
                    FollowupAction("callback_form"),
                ]
            if "window" in error.fields:
                return [SlotSet("callback_time", None), SlotSet(INVALID, PAST), FollowupAction("callback_form")]
            raise
        window = Window(
            callback.window_start.astimezone(ZoneInfo(callback.timezone)),
            callback.window_end.astimezone(ZoneInfo(callback.timezone)),
        )
        label = window.label(_clock.now(tracker, callback.timezone), relative=False)
        await _to_gateway(
            "/handoff/internal/callback",
            {  # posted to the queue's channel
                "number": callback.number,
                "queue": callback.queue,
                "name": callback.name,
                "phone": callback.phone,
                "window": label,
                "timezone": callback.timezone,
                "handoff": tracker.get_slot("handoff_number"),
                "conversation_id": tracker.sender_id,
                "channel": who.channel,
            },
            callback.number,
        )
        dispatcher.utter_message(
            text=render("basics/callback", callback=callback, window=label), **completed("callback_booked")
        )
        return [SlotSet("callback_phone", None), SlotSet("callback_time", None)]

    def on_error(self, error, tracker: Tracker) -> list[EventType]:
        return [SlotSet("callback_phone", None), SlotSet("callback_time", None)]
