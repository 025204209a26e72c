"""FAQ answers that need more than a fixed text: "when are your reps available?" states the queues'
real opening hours (``hours_answer``, used by ``action_answer_faq`` in bot/actions/admins.py), and
"thanks" keeps a waiting quote or payment on screen (``action_you_are_welcome``).

The hours come from the same settings the gateway's handoff queues and the callbacks use
(HANDOFF_SALES_HOURS, HANDOFF_SUPPORT_HOURS and their _TIMEZONE, read by bot/opening_hours.py),
so the answer and the queues cannot disagree. The bot itself is there 24/7, and says so.

A question or a thank-you while a quote or payment waits for a yes is answered, then that question
is shown again with its buttons (``still_waiting``).
"""

from __future__ import annotations

import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.opening_hours import QueueConfigError, QueueHours

from ._render import PHONE, buttons
from .confirm import ask_again, pending

HOURS_QUESTION = "faq/hours"
HOURS_BUTTONS = buttons(("Talk to a person", "/talk_to_human"), ("Call me back", "/request_callback"))


def queue_hours(queue: str) -> str:
    """'Mon–Fri 9 am–5 pm (America/New_York)', 'by appointment' when never staffed, or the raw
    setting if it can't be read (the gateway refuses to start with it anyway)."""
    try:
        return QueueHours.from_env(queue).label()
    except QueueConfigError:
        return os.environ.get(f"HANDOFF_{queue.upper()}_HOURS", "").strip() or "by appointment"


def hours_answer(known: bool) -> str:
    sales, support = queue_hours("sales"), queue_hours("support")
    text = f"I'm here 24/7 for licenses, invoices and payments. People are in at these times:\n• Sales: {sales}\n"
    if known:  # visitors are served by sales only
        text += f"• Support: {support}\n"
    return text + f"Out of hours you can call {PHONE}, or ask me for a call back in opening hours."


def still_waiting(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Outside a form, a quote or payment waiting for a yes is shown again with its buttons."""
    waiting = pending(tracker)
    if waiting is not None and not tracker.active_loop_name:
        ask_again(dispatcher, tracker, waiting, "utter_confirm_current")


class ActionYouAreWelcome(Action):
    """A "thanks" in passing: you're welcome, and a quote or payment still waiting for a yes is shown
    again with its buttons (a thank-you is not an answer to it)."""

    def name(self) -> str:
        return "action_you_are_welcome"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        waiting = pending(tracker)
        if waiting is None or not ask_again(dispatcher, tracker, waiting, "utter_you_are_welcome_waiting"):
            dispatcher.utter_message(response="utter_you_are_welcome")
        return []
