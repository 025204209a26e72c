"""Conversation basics: the welcome, and what the bot says when it did not understand.

Nothing here calls billing: a greeting or an out-of-scope question ("what's the weather?")
must never touch an account, and must answer even when billing is down.

When the classifier had guesses it was not sure enough of (the message fell back under the
0.3 bar, or under the 0.85 bar of a change such as paying), the reply offers the two or three most
likely requests as buttons ("Did you mean to pay an invoice, check what you owe or see your
invoices?"), never one guess as if it were the answer; "yes" or "the first one" takes the first
(bot/actions/offers.py), one click carries on with the entities the message had, and a change is
still quoted and confirmed before anything happens. An unsure message that answers what the bot
just offered ("ok pay it" after "Pay an open invoice", an unsure "yes") takes that offer.

While a quote or payment waits for a yes, a message not understood gets that question again.

Misunderstandings are counted from the tracker itself (the user turns at the end of the
conversation whose intent is ``nlu_fallback`` or ``out_of_scope``), so there is no counter slot to
keep in step: any recognised intent in between breaks the run. The second one in a row offers a
person.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from ._identity import identity
from ._render import buttons, payload, render
from .change_forms import pointed_back_at
from .confirm import ask_again, asked_last, corrected, correction, pending
from .offers import Offer, by_place, offer_slot, offered, stands_for, take, the_other
from .quotes import EDITIONS
from .suggestions import CUSTOMER_BUTTONS, PERSON_BUTTONS, SUGGEST_FROM, VISITOR_BUTTONS, suggestions

MISUNDERSTOOD = ("nlu_fallback", "out_of_scope")
UNSURE = ("nlu_fallback", "inform")  # "did you mean" for these: a bare answer that answered nothing too


def first_name(name: str | None) -> str | None:
    parts = (name or "").split()
    return parts[0] if parts else None


def misunderstandings_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user turns in a row were not understood (out of scope or low
    confidence). Button payloads and recognised intents break the run."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in MISUNDERSTOOD:
            break
        count += 1
    return count


class ActionGreet(Action):
    """A short welcome that says what the bot can do, with the first name when the gateway
    knows who is talking."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        who = identity(tracker)
        dispatcher.utter_message(
            text=render("basics/greet", first_name=first_name(who.name), known=who.known),
            buttons=CUSTOMER_BUTTONS if who.known else VISITOR_BUTTONS,
        )
        return []


class ActionFallback(Action):
    """Out of scope or not understood: say what the bot can do, or offer the likely requests; the
    second time in a row, offer a person or a callback too (buttons: nothing is opened unasked).
    Never calls billing."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        who = identity(tracker)
        misses = max(misunderstandings_in_a_row(tracker), 1)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        waiting = pending(tracker)
        if (
            intent == "nlu_fallback"
            and waiting is not None
            and ask_again(dispatcher, tracker, waiting, "utter_confirm_not_understood")
        ):
            # Not understood while a quote or payment waits (an unsure "yes", a message with no
            # word in it): the question again, rather than a guess at something else.
            return []
        message = with_product_pointed_at(tracker)
        purchase = more_of(message) if intent == "nlu_fallback" else None
        if purchase is not None:
            return take(tracker, purchase)
        guesses = suggestions(without_bare_answer(message)) if intent in UNSURE else []
        offer = offered(tracker)
        top = top_guess(tracker.latest_message)
        if intent == "nlu_fallback" and offer is not None and top is not None and top[0] in (offer.intent, "affirm"):
            # Unsure, but it answers what the bot just offered ("ok pay it" after "Pay an open
            # invoice"): as if its button was pressed. That leads to the request's own question (a
            # payment's yes), so nothing changes on an unsure message.
            return take(tracker, offer)
        offered_now = buttons(*((g[0][0].upper() + g[0][1:], g[1]) for g in guesses))
        if misses >= 2:  # a person or a callback too, unless a guess is that already
            offered_now += [b for b in PERSON_BUTTONS if not any(g[1].startswith(b["payload"]) for g in guesses)]
        dispatcher.utter_message(
            text=render(
                "basics/fallback",
                misses=misses,
                out_of_scope=intent == "out_of_scope",
                known=who.known,
                guesses=[g[0] for g in guesses],
            ),
            buttons=offered_now,
        )
        main = guesses[0][1] if guesses else (PERSON_BUTTONS[0]["payload"] if misses >= 2 else None)
        return offer_slot(main) if main else []


# "Add licenses" and "buy a product" are one request when a product is named: more of it, which the
# forms quote as more licenses when the contract has it and as a new product when it hasn't.
PURCHASE = frozenset({"add_licenses", "buy_product"})
# Sure enough of a purchase of a named product to quote it: a quote changes nothing (its own yes
# does), so the bar is the classifier's ordinary one, not the 0.85 of the intents that change money.
PURCHASE_SURE = 0.6


def more_of(message: dict[str, Any]) -> Offer | None:
    """A purchase of a named product that fell under the bar of changes ("more file storage, 2
    blocks": add_licenses 0.80; "add field service licenses": add_licenses 0.53, buy_product 0.37),
    as if asked plainly, unless another request is in the running too ("... can sales call us").
    Only a quote follows, so nothing changes without its yes."""
    product = next((e.get("value") for e in message.get("entities") or [] if e.get("entity") == "product"), None)
    ranked = [r for r in message.get("intent_ranking") or [] if r.get("name") not in MISUNDERSTOOD]
    if not product or not ranked or ranked[0].get("name") not in PURCHASE:
        return None
    sure = sum(float(r.get("confidence") or 0.0) for r in ranked if r.get("name") in PURCHASE)
    rival = max(
        (float(r.get("confidence") or 0.0) for r in ranked if r.get("name") not in PURCHASE | {"inform"}), default=0.0
    )
    if sure < PURCHASE_SURE or rival >= SUGGEST_FROM:
        return None
    quantity = next((e.get("value") for e in message.get("entities") or [] if e.get("entity") == "quantity"), None)
    intent = "add_licenses" if product in EDITIONS else "buy_product"
    return Offer("", payload(intent, product=product, quantity=quantity))


def with_product_pointed_at(tracker: Tracker) -> dict[str, Any]:
    """The latest message, with the product of the answer just given when it points back at it
    ("add 5 of those" after "what is Field Service?"), so a "did you mean" names that product and
    its button carries it."""
    message = tracker.latest_message
    named = any(e.get("entity") == "product" for e in message.get("entities") or [])
    product = None if named else pointed_back_at(tracker)
    if product is None:
        return message
    entity = {"entity": "product", "value": product, "start": 0, "end": 0, "extractor": "context"}
    return {**message, "entities": [*(message.get("entities") or []), entity]}


def without_bare_answer(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the suggestions read it: a bare answer that answered nothing ("licenses" on
    its own) is not a guess, so the requests ranked after it are."""
    ranking = [r for r in message.get("intent_ranking") or [] if r.get("name") != "inform"]
    return {**message, "intent_ranking": ranking}


def top_guess(message: dict[str, Any]) -> tuple[str, float] | None:
    """The classifier's best guess other than "not understood", if it is more than a shrug."""
    for ranked in message.get("intent_ranking") or []:
        name, confidence = ranked.get("name"), float(ranked.get("confidence") or 0.0)
        if name not in MISUNDERSTOOD:
            return (str(name), confidence) if confidence >= SUGGEST_FROM else None
    return None


class ActionPickOffer(ActionFallback):
    """A bare answer outside any form ("the first one", "2", "the March one"): the option of the
    bot's last message it names, as if pressed; with nothing waiting, the request it stands for
    ("INV-1040", "3 inbox please": ``stands_for``); while a quote or payment waits, a correction of
    it ("the March one": asked again for that invoice) or the question again; anything else is not
    understood (ActionFallback)."""

    def name(self) -> str:
        return "action_pick_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        choice = by_place(tracker)
        if choice is not None:
            return take(tracker, choice)
        waiting = pending(tracker)
        request = stands_for(tracker) if waiting is None else None
        if request is not None:
            return take(tracker, request)
        if waiting is not None and asked_last(tracker, waiting) and correction(tracker, waiting):
            return corrected(tracker, waiting)
        switch = the_other(tracker) if waiting is not None and asked_last(tracker, waiting) else None
        if waiting is not None and switch is not None:  # "the other one": the question's one alternative
            return [SlotSet(waiting.confirmer.slot, None), *take(tracker, switch)]
        if waiting is not None and ask_again(dispatcher, tracker, waiting, "utter_confirm_not_understood"):
            return []
        return await super().run(dispatcher, tracker, domain)
