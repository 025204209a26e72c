""" "Yes" and "no" to whatever is waiting for confirmation, bound to what the customer saw.

A topic module that asks for confirmation stores what is pending in a slot (``pending_quote``,
``pending_payment``...), registers what "yes" does with ``@on_confirm(slot, kind=...)``, and shows
its question with ``yes_no(kind, id)``: buttons whose payloads carry ``confirms: "<kind>:<id>"``.
One rule (affirm -> action_confirm, deny -> action_decline) then serves every flow, and nothing
changes unless the customer answered the very question that is pending:

- a click carries the id it was shown with: a stale one (an older quote's Yes in Slack history, a
  second tab) says that quote is no longer current, shows the current one, and changes nothing;
- a typed yes or no answers only the question the bot asked last: if the bot said something else
  since, the pending question is shown again first;
- a typed yes or no must be as sure as the intents that change money (``SURE``, the bar of
  config.yml's StateChangeGuard); under it the question is asked again. Messages with no letter or
  digit are never yes or no at all (bot/nlu/guard.py).

When the bot's last message was not a confirmation but offered one next step ("Pay an open
invoice" after the balance, "did you mean ...?"), a typed yes takes that step and a no declines
it (bot/actions/offers.py); a step that changes money still asks its own confirmation. Only when
the last message offered nothing is there "nothing waiting for a yes", and then the customer gets
what they can do next. A "no" that names another invoice or product while a confirmation waits
("no, the March one") is a correction: it is asked as the confirmer's ``corrected_by`` request
(the intent whose rule asks for it) with what they named, as a click on such a button would be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError

from . import _metrics
from ._base import BillingAction, explain, retry_is_safe
from ._identity import Identity
from ._render import buttons, payload, payload_entities
from .offers import Offer, offered, picked, take, the_other

CONFIRMS = "confirms"  # the entity a confirmation button carries: "<kind>:<id>" of what it confirms
SURE = 0.85  # a typed yes/no while something waits: the bar of the intents that change money

Handler = Callable[[CollectingDispatcher, Tracker, Identity, ActingClient, str], Awaitable[list[EventType]]]


@dataclass(frozen=True)
class Confirmer:
    slot: str
    kind: str  # "quote", "payment": how the customer calls it ("that quote is no longer current")
    handler: Handler
    declined_response: str
    corrected_by: str | None = None  # the request (intent) made again when a "no" names what to use instead
    corrections: tuple[str, ...] = ()  # the entities that make a "no" such a correction

    def token(self, value: str) -> str:
        return f"{self.kind}:{value}"


_confirmers: dict[str, Confirmer] = {}  # slot -> what "yes" does while it holds a value


def on_confirm(
    slot: str, *, kind: str, declined_response: str, corrected_by: str | None = None, corrections: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    """Register what "yes" does while ``slot`` holds a value (the handler gets that value)."""

    def register(handler: Handler) -> Handler:
        _confirmers[slot] = Confirmer(slot, kind, handler, declined_response, corrected_by, corrections)
        return handler

    return register


def yes_no(
    kind: str, value: str, *, yes: str = "Yes", no: str = "No", between: tuple[tuple[str, str], ...] = ()
) -> list[dict[str, str]]:
    """Yes/No buttons bound to the ``kind`` ``value`` they are shown for (``between``: other buttons
    placed between Yes and No, e.g. "Talk to sales first")."""
    token = f"{kind}:{value}"
    return buttons((yes, payload("affirm", **{CONFIRMS: token})), *between, (no, payload("deny", **{CONFIRMS: token})))


@dataclass(frozen=True)
class Pending:
    confirmer: Confirmer
    value: str

    @property
    def token(self) -> str:
        return self.confirmer.token(self.value)


def pending(tracker: Tracker) -> Pending | None:
    for slot, confirmer in _confirmers.items():
        value = tracker.get_slot(slot)
        if value:
            return Pending(confirmer, str(value))
    return None


def clicked(tracker: Tracker) -> str | None:
    """The ``confirms`` token of the button the customer pressed; None for a typed answer. A button
    payload without one (``/affirm``: a button from before confirmations were bound, or typed by
    hand) gives "": it answers no question that can be pending."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == CONFIRMS and entity.get("value"):
            return str(entity["value"])
    return "" if str(tracker.latest_message.get("text") or "").lstrip().startswith("/") else None


def _confirms(event: dict[str, Any]) -> set[str]:
    data = event.get("data") or {}
    return {
        str(payload_entities(str(b.get("payload") or "")).get(CONFIRMS))
        for b in data.get("buttons") or []
        if isinstance(b, dict)
    } - {"None"}


def _bot_events(tracker: Tracker) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the bot's last message before the customer's latest one, every bot message before it)."""
    events = list(tracker.events)
    latest_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    before = [e for e in events[:latest_user] if e.get("event") == "bot"]
    return (before[-1] if before else None), before


def asked_last(tracker: Tracker, waiting: Pending) -> bool:
    """Whether the bot's last message before this answer was the question for ``waiting``."""
    last, _ = _bot_events(tracker)
    return last is not None and waiting.token in _confirms(last)


def ask_again(dispatcher: CollectingDispatcher, tracker: Tracker, waiting: Pending, response: str) -> bool:
    """Say ``response``, then the pending question exactly as it was shown (its text and its
    buttons). False when it is no longer in the conversation (then nothing is shown)."""
    _, said = _bot_events(tracker)
    question = next((e for e in reversed(said) if waiting.token in _confirms(e)), None)
    if question is None:
        return False
    dispatcher.utter_message(response=response)
    dispatcher.utter_message(text=question.get("text"), buttons=(question.get("data") or {}).get("buttons"))
    return True


def sure(tracker: Tracker) -> bool:
    return float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0) >= SURE


def stale(dispatcher: CollectingDispatcher, tracker: Tracker, token: str, waiting: Pending | None) -> list[EventType]:
    """A click on an answered or replaced question: say so, show the current one; change nothing."""
    kind = token.partition(":")[0]
    dispatcher.utter_message(response="utter_confirm_stale", kind=kind if kind in ("quote", "payment") else "request")
    if waiting is not None and not ask_again(dispatcher, tracker, waiting, "utter_confirm_current"):
        return [SlotSet(waiting.confirmer.slot, None)]
    return []


def unsure(dispatcher: CollectingDispatcher, tracker: Tracker, waiting: Pending) -> list[EventType]:
    """A typed answer that may not be meant for the pending question: ask it again."""
    if ask_again(dispatcher, tracker, waiting, "utter_confirm_again"):
        return []
    # The question is not in the conversation any more: it cannot have been answered. Forget it.
    dispatcher.utter_message(response="utter_confirm_lost")
    return [SlotSet(waiting.confirmer.slot, None)]


def offer_answer(tracker: Tracker, waiting: Pending | None, token: str | None) -> bool:
    """Whether a typed answer is for an offer of the bot's last message rather than a confirmation:
    nothing waits, or what waits was not the question asked last."""
    return token is None and (waiting is None or not asked_last(tracker, waiting))


def reshow_pending(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """After answering a question asked while a quote or payment waits ("how much do we owe?"),
    show the waiting question again with its buttons, so the customer's next yes answers it."""
    waiting = pending(tracker)
    if waiting is not None:
        ask_again(dispatcher, tracker, waiting, "utter_confirm_still_waiting")


class ActionConfirm(BillingAction):
    def name(self) -> str:
        return "action_confirm"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        waiting, token = pending(tracker), clicked(tracker)
        if token is not None and (waiting is None or token != waiting.token):
            return stale(dispatcher, tracker, token, waiting)
        if offer_answer(tracker, waiting, token):
            offer = picked(tracker)
            if offer is not None:
                return take(tracker, offer)
        if waiting is None and tracker.active_loop.get("name"):
            # A yes to a form's question that is not an answer: the form asks it again next.
            dispatcher.utter_message(response="utter_form_needs_answer")
            return []
        if waiting is None:
            from .suggestions import next_steps  # suggestions imports this module

            dispatcher.utter_message(response="utter_nothing_pending", buttons=await next_steps(who, client))
            return []
        if token is None and not (sure(tracker) and asked_last(tracker, waiting)):
            return unsure(dispatcher, tracker, waiting)
        # Cleared once done, so a second "yes" does not repeat it; after an error see on_error.
        _metrics.CONFIRMATIONS.labels(waiting.confirmer.kind, "yes").inc()
        slot = waiting.confirmer.slot
        return [SlotSet(slot, None), *await waiting.confirmer.handler(dispatcher, tracker, who, client, waiting.value)]

    def explain(self, dispatcher: CollectingDispatcher, error: BillingError, tracker: Tracker) -> None:
        # Saying yes again is safe (same idempotency key): the reply carries the same Yes/No, so
        # the yes that follows answers the bot's last question.
        waiting = pending(tracker)
        explain(dispatcher, error, answers=yes_no(waiting.confirmer.kind, waiting.value) if waiting else None)

    def on_error(self, error: BillingError, tracker: Tracker) -> list[EventType]:
        waiting = pending(tracker)
        if waiting is None or retry_is_safe(error):
            # The order or payment went out with its idempotency key and no answer came back: it
            # may have been applied. "Yes" again sends the same key, so billing applies it at most
            # once and says which; a fresh request would carry a new key and could apply it twice.
            return []
        return [SlotSet(waiting.confirmer.slot, None)]


def correction(tracker: Tracker, waiting: Pending) -> bool:
    """A "no" that says what to use instead ("no, the March one", "no, INV-1041")."""
    named = {e.get("entity") for e in tracker.latest_message.get("entities") or [] if e.get("value")}
    return waiting.confirmer.corrected_by is not None and bool(named & set(waiting.confirmer.corrections))


def corrected(tracker: Tracker, waiting: Pending) -> list[EventType]:
    """The pending question dropped, and its request made again with what the customer named."""
    named = {
        str(e["entity"]): e["value"]
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") in waiting.confirmer.corrections and e.get("value")
    }
    again = Offer(waiting.confirmer.kind, payload(str(waiting.confirmer.corrected_by), **named))
    return [SlotSet(waiting.confirmer.slot, None), *take(tracker, again)]


class ActionDecline(BillingAction):
    def name(self) -> str:
        return "action_decline"

    async def act(self, dispatcher, tracker, domain: dict[str, Any], who, client) -> list[EventType]:
        waiting, token = pending(tracker), clicked(tracker)
        if token is not None and (waiting is None or token != waiting.token):
            return stale(dispatcher, tracker, token, waiting)
        if offer_answer(tracker, waiting, token) and offered(tracker) is not None:
            dispatcher.utter_message(response="utter_offer_declined")
            return [SlotSet("offer", None)]
        if waiting is None:
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        if token is None and asked_last(tracker, waiting) and correction(tracker, waiting):
            # Not a no to the whole thing: the same request, for what they named instead. It only
            # asks again (its own yes follows), so an unsure "no, ..." may take it too.
            return corrected(tracker, waiting)
        switch = the_other(tracker) if token is None and asked_last(tracker, waiting) else None
        if switch is not None:  # "no wait, the other one": the one alternative the question offered
            return [SlotSet(waiting.confirmer.slot, None), *take(tracker, switch)]
        if token is None and not (sure(tracker) and asked_last(tracker, waiting)):
            return unsure(dispatcher, tracker, waiting)
        _metrics.CONFIRMATIONS.labels(waiting.confirmer.kind, "no").inc()
        dispatcher.utter_message(response=waiting.confirmer.declined_response)
        return [SlotSet(waiting.confirmer.slot, None)]
