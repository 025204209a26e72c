"""Out-of-scope messages, and complaints about the assistant itself.

A complaint ("this is useless", "you're not helping") is not a "no" and not a request: it gets an
apology and the choice of a person (a button: nothing is opened unless the customer presses it),
and a quote or payment still waiting for a yes is shown again, so nothing is lost. Anything else
out of scope gets the usual "here's what I can do" (``action_fallback``, bot/actions/basics.py).
Never calls billing.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from ._identity import identity
from ._render import buttons
from .basics import ActionFallback
from .confirm import ask_again, pending

# Words of frustration with the assistant (not a description of a product problem, which is a
# support case: "the dialer is not working" never matches, as no word here describes a product).
FRUSTRATION = re.compile(
    r"\b(useless|pointless|hopeless|rubbish|garbage|terrible|awful|horrible|ridiculous|stupid|dumb|"
    r"sucks?|annoy\w*|frustrat\w*|waste of (my )?time|(not|n't|never) (help\w*|listen\w*|understand\w*)|"
    r"unhelpful|fed up|sick of|give up|hate (this|you|it)|worst|joke of a)\b",
    re.IGNORECASE,
)


def complaint(tracker: Tracker) -> bool:
    return bool(FRUSTRATION.search(str(tracker.latest_message.get("text") or "")))


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not complaint(tracker):
            return await ActionFallback().run(dispatcher, tracker, domain)
        person = "Talk to a person" if identity(tracker).known else "Talk to sales"
        dispatcher.utter_message(
            response="utter_complaint", buttons=buttons((person, "/talk_to_human"), ("What can you do?", "/help"))
        )
        waiting = pending(tracker)
        if waiting is not None:
            ask_again(dispatcher, tracker, waiting, "utter_confirm_current")
        return []
