"""What the gateway channel tells the gateway about a turn besides the replies: the intent Rasa
understood and whether the assistant fell back ("did you mean...?"), for the gateway's metrics
(bot/gateway/metrics.py) and the turn's log line; and the task the turn completed, if any, when
nothing is left waiting for the customer (the gateway then may offer a rating: bot/gateway/ratings.py).

A task is marked by the action that completed it, in its success message's custom data
(bot/actions/_tasks.py). It is reported only when the finished tracker has no active form and no
pending confirmation, so a rating offer never interrupts a question the customer has to answer.

The channel opens a ``TurnFacts`` before the turn; our tracker stores fill it in when they save
the turn (``note``), the one place that sees the finished tracker without reading it again. A
store other than ours leaves it empty: the gateway then counts the intent as ``unknown``.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bot.telemetry.tasks import TASK_DONE, TASKS

# The fallbacks: Rasa's core fallback (config.yml) and ours, which asks "did you mean...?".
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_fallback"})
FALLBACK_INTENT = "nlu_fallback"
OTHER = "other"  # an intent name the domain does not have (a typed "/anything")
# The slots of the confirmations (bot/actions/confirm.py's ``on_confirm`` registrations; a test
# keeps the two lists equal): one of them set means a yes/no is waiting.
PENDING_SLOTS = ("pending_quote", "pending_payment", "pending_request")


@dataclass
class TurnFacts:
    intent: str | None = None
    fallback: bool = False
    task: str | None = None  # a task this turn completed, with nothing left waiting

    def headers(self) -> dict[str, str]:
        found = (
            {"X-Assistant-Intent": self.intent, "X-Assistant-Fallback": "1" if self.fallback else "0"}
            if self.intent
            else {}
        )
        if self.task:
            found["X-Assistant-Task"] = self.task
        return found


_facts: ContextVar[TurnFacts | None] = ContextVar("turn_facts", default=None)
_intents: dict[int, frozenset[str]] = {}  # id(domain) -> its intent names


def observe() -> TurnFacts:
    """A new, empty ``TurnFacts`` that this turn's save fills in."""
    facts = TurnFacts()
    _facts.set(facts)
    return facts


def note(tracker: Any, domain: Any) -> None:
    """Called by the tracker store's save: the latest user message's intent (bounded to the
    domain's) and whether a fallback ran since it."""
    facts = _facts.get()
    if facts is None:
        return
    name = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    if not isinstance(name, str):
        return
    known = _intents.get(id(domain)) if domain is not None else None
    if known is None and domain is not None:
        known = _intents[id(domain)] = frozenset(domain.intents)
    facts.intent = name if name == FALLBACK_INTENT or (known is not None and name in known) else OTHER
    fallback = name == FALLBACK_INTENT
    for event in reversed(tracker.events):
        if getattr(event, "type_name", None) == "user":
            break
        if getattr(event, "action_name", None) in FALLBACK_ACTIONS:
            fallback = True
            break
    facts.fallback = fallback
    facts.task = completed_task(tracker)


def completed_task(tracker: Any) -> str | None:
    """The task a bot message of this turn marked as completed (the last one), or None when there
    is none or something still waits for the customer (a form, a confirmation)."""
    task = None
    for event in reversed(tracker.events):
        if getattr(event, "type_name", None) == "user":
            break
        data = getattr(event, "data", None) if getattr(event, "type_name", None) == "bot" else None
        custom = data.get("custom") if isinstance(data, dict) else None
        if isinstance(custom, dict) and custom.get(TASK_DONE) in TASKS:
            task = str(custom[TASK_DONE])
            break
    if task is None:
        return None
    loop = getattr(tracker, "active_loop", None) or {}
    if (loop.get("name") if isinstance(loop, dict) else getattr(loop, "name", None)) or any(
        tracker.get_slot(slot) for slot in PENDING_SLOTS
    ):
        return None
    return task
