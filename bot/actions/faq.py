"""The FAQ: the answer the ResponseSelector picked (``utter_faq/<question>``), except "when are your
reps available?", which states the queues' real opening hours.

The hours come from the same settings the gateway's handoff queues use (HANDOFF_SALES_HOURS,
HANDOFF_SUPPORT_HOURS and their _TIMEZONE, with the gateway's defaults): the action server and
the gateway are started with one environment (bot/runner.py, deploy/), so the answer and the
queues cannot disagree. The bot itself is there 24/7, and says so.

A question asked while a quote or payment waits for a yes is answered, then that question is shown
again with its buttons.
"""
from __future__ import annotations

import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from ._identity import identity
from ._render import PHONE, buttons
from .confirm import ask_again, pending

# The gateway's defaults (bot/gateway/config.py, GatewaySettings.handoff_*): used when unset.
DEFAULT_HOURS = {"sales": "Mon-Fri 09:00-17:00", "support": "Mon-Fri 08:00-20:00"}
DEFAULT_TIMEZONE = "America/New_York"
HOURS_QUESTION = "faq/hours"


def queue_hours(queue: str) -> str:
    """'Mon-Fri 09:00-17:00 (America/New_York time)', or 'by appointment' when never staffed."""
    hours = os.environ.get(f"HANDOFF_{queue.upper()}_HOURS", DEFAULT_HOURS[queue]).strip()
    zone = os.environ.get(f"HANDOFF_{queue.upper()}_TIMEZONE", DEFAULT_TIMEZONE).strip() or DEFAULT_TIMEZONE
    if not hours:
        return "by appointment"
    if hours.replace(" ", "") in ("Mon-Sun00:00-00:00", "Mon-Sun00:00-24:00"):
        return "around the clock"
    return f"{hours.replace(';', ',')} ({zone.replace('_', ' ')} time)"


def hours_answer(known: bool) -> str:
    sales, support = queue_hours("sales"), queue_hours("support")
    text = (f"I'm here 24/7 for licenses, invoices and payments. People are in at these times:\n"
            f"• Sales: {sales}\n")
    if known:  # visitors are served by sales only
        text += f"• Support: {support}\n"
    return text + f"Out of hours you can call {PHONE}, or ask me for a call back in opening hours."


def picked(tracker: Tracker) -> str | None:
    """The FAQ question the ResponseSelector matched ("faq/hours"), if any."""
    selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    if key:
        return str(key)
    intent = tracker.latest_message.get("intent") or {}
    full = intent.get("full_retrieval_intent_name")
    return str(full) if full else None


class ActionYouAreWelcome(Action):
    """A "thanks" in passing: you're welcome, and a quote or payment still waiting for a yes is shown
    again with its buttons (a thank-you is not an answer to it)."""

    def name(self) -> str:
        return "action_you_are_welcome"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        waiting = pending(tracker)
        if waiting is None or not ask_again(dispatcher, tracker, waiting, "utter_you_are_welcome_waiting"):
            dispatcher.utter_message(response="utter_you_are_welcome")
        return []


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        question = picked(tracker)
        if question == HOURS_QUESTION:
            dispatcher.utter_message(text=hours_answer(identity(tracker).known),
                                     buttons=buttons(("Talk to a person", "/talk_to_human"),
                                                     ("Call me back", "/request_callback")))
        elif question and f"utter_{question}" in (domain.get("responses") or {}):
            dispatcher.utter_message(response=f"utter_{question}")
        else:  # nothing picked: what the bot can do (never a silent turn)
            dispatcher.utter_message(response="utter_help")
        waiting = pending(tracker)  # a quote or payment asked about in passing stays on screen
        if waiting is not None:
            ask_again(dispatcher, tracker, waiting, "utter_confirm_current")
        return []
