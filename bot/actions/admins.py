"""FAQ answers that use the conversation: "who can give me that permission?" / "who is our admin?"
names the organisation's system administrators (the ones a refusal named just before, kept in the
slot ``permission_admins``, else billing's list of the org's admins) instead of the generic answer.
"When are your reps available?" gets the queues' real opening hours (bot/actions/faq.py). Every
other FAQ question gets its retrieval response (``utter_faq/<question>``) unchanged. Outside a form,
a quote or payment waiting for a yes is shown again after the answer.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import BillingError

from ._base import acting
from ._identity import identity
from ._render import render
from .faq import HOURS_BUTTONS, HOURS_QUESTION, hours_answer, still_waiting

ABOUT_ADMINS = {"faq/who_grants_permission"}


def faq_key(tracker: Tracker) -> str | None:
    """The FAQ question the response selector picked for the latest message ("faq/<question>")."""
    selector = (tracker.latest_message or {}).get("response_selector") or {}
    picked = (selector.get("faq") or selector.get("default") or {}).get("response") or {}
    key = picked.get("intent_response_key")
    return key if isinstance(key, str) and key.startswith("faq/") else None


def admins_from_slot(value: Any) -> list[tuple[str, str]]:
    """``permission_admins`` as the refusal stored it: [[name, email]], [{"name", "email"}] or names."""
    found = []
    for item in value if isinstance(value, (list, tuple)) else []:
        if isinstance(item, dict) and item.get("name"):
            found.append((str(item["name"]), str(item.get("email") or "")))
        elif isinstance(item, (list, tuple)) and item:
            found.append((str(item[0]), str(item[1]) if len(item) > 1 else ""))
        elif isinstance(item, str) and item.strip():
            found.append((item.strip(), ""))
    return found


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        key = faq_key(tracker)
        who = identity(tracker)
        if key in ABOUT_ADMINS and who.known:
            admins = admins_from_slot(tracker.get_slot("permission_admins"))
            org = None
            if not admins:
                try:
                    me = await acting(who).me()
                    admins, org = [(a.name, a.email) for a in me.admins], me.org
                except BillingError:
                    admins = []
            if admins:
                dispatcher.utter_message(text=render("basics/admins", admins=admins, org=org))
                still_waiting(dispatcher, tracker)
                return []
        if key == HOURS_QUESTION:
            dispatcher.utter_message(text=hours_answer(who.known), buttons=HOURS_BUTTONS)
        else:
            dispatcher.utter_message(response=f"utter_{key}" if key else "utter_help")
        still_waiting(dispatcher, tracker)
        return []
