"""What the bot's last message offered, so that a typed "yes", "ok do it", "the first one" or "no"
can answer it.

An offer is a button of the bot's last message (the one just before the customer's answer) that
starts a request: "Pay an open invoice" after the balance, "Talk to a person", "Did you mean to buy
a product?". A message offers one next step when it has a single such button, or when the action
that sent it named its main one in the ``offer`` slot (the first suggestion of a "did you mean",
say); a message with confirmation buttons (``confirms``) offers nothing here: its yes and no are
bound to the quote or payment it shows (bot/actions/confirm.py).

Taking an offer is the same as pressing its button: the action answering the "yes" records the
press as the customer's turn (``action_listen`` then the button's payload as a user message with
the same verified metadata), and the rules answer it as they answer a click. So an offer never
does more than its button would: one that leads to a change leads to that change's own quote or
payment question, and nothing is changed without that question's yes. Only the bot's own buttons
are taken, and only those of its last message: an offer made two replies ago is gone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet

from ._identity import latest_metadata
from ._render import payload, payload_entities

OFFER_SLOT = "offer"  # the payload of the main button, when the last message has several
CONFIRMS = "confirms"  # the entity of a confirmation button (bot/actions/confirm.py)
NEVER_TAKEN = frozenset({"affirm", "deny"})  # a yes to a yes is no request
# Entities a button may carry, which the rules' forms and actions read as slots of the same name
# (their from_entity mappings, bot/domain/core.yml): set when an offer is taken, as the slot
# extraction of a click would.
SLOT_ENTITIES = ("product", "quantity", "invoice_number", "email", "period")
QUANTITY_TAKERS = frozenset({"add_licenses", "buy_product"})  # offers a bare number can complete

ORDINALS = (
    (re.compile(r"\b(first|1st|top|former)\b|^\W*(#?1|one)\W*$", re.I), 0),
    (re.compile(r"\b(second|2nd|latter)\b|^\W*(#?2|two)\W*$", re.I), 1),
    (re.compile(r"\b(third|3rd)\b|^\W*(#?3|three)\W*$", re.I), 2),
    (re.compile(r"\b(last one|last option)\b", re.I), -1),
)


@dataclass(frozen=True)
class Offer:
    title: str
    payload: str

    @property
    def intent(self) -> str:
        return self.payload[1:].partition("{")[0]

    @property
    def entities(self) -> dict[str, Any]:
        return payload_entities(self.payload)


def _last_turn(tracker: Tracker) -> list[dict[str, Any]]:
    """The events of the bot's last turn: between the customer's two latest messages."""
    events = list(tracker.events)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users:
        return []
    return events[users[-2] + 1 if len(users) > 1 else 0 : users[-1]]


def last_bot_message(tracker: Tracker) -> dict[str, Any] | None:
    """The bot's last message before the customer's latest one (None if that turn said nothing)."""
    return next((e for e in reversed(_last_turn(tracker)) if e.get("event") == "bot"), None)


def _requests(tracker: Tracker) -> tuple[list[Offer], bool]:
    """The buttons of the bot's last message that start a request (a yes or no to a yes is none),
    in order, and whether that message asked for a confirmation (it had ``confirms`` buttons)."""
    last = last_bot_message(tracker)
    found = [b for b in ((last or {}).get("data") or {}).get("buttons") or [] if isinstance(b, dict)]
    offers = [Offer(str(b.get("title") or ""), str(b.get("payload") or "")) for b in found]
    confirming = any(CONFIRMS in o.entities for o in offers)
    requests = [
        o
        for o in offers
        if o.payload.startswith("/") and o.intent and o.intent not in NEVER_TAKEN and CONFIRMS not in o.entities
    ]
    return requests, confirming


def choices(tracker: Tracker) -> list[Offer]:
    """The requests the bot's last message offered as buttons, in order; none when it asked for a
    confirmation (those buttons answer a quote or payment, not an offer)."""
    requests, confirming = _requests(tracker)
    return [] if confirming else requests


OTHER = re.compile(r"\b(the )?other (one|invoice|product|line|card)\b|\bthe other\b", re.I)


def the_other(tracker: Tracker) -> Offer | None:
    """ "The other one" said to a question whose message has one alternative beside its Yes/No
    ("Pay INV-1042 instead"): that alternative. None when there are several, or none."""
    others, _ = _requests(tracker)
    text = str(tracker.latest_message.get("text") or "")
    return others[0] if len(others) == 1 and OTHER.search(text) else None


def named_offer(tracker: Tracker) -> str | None:
    """The ``offer`` slot as set in the bot's last turn (an older value named an older message)."""
    named = None
    for event in _last_turn(tracker):
        if event.get("event") == "slot" and event.get("name") == OFFER_SLOT:
            named = event.get("value")
    return named if isinstance(named, str) else None


def offered(tracker: Tracker) -> Offer | None:
    """The one next step the bot's last message offered, or None."""
    options = choices(tracker)
    named = named_offer(tracker)
    main = next((o for o in options if named and o.payload == named), None)
    if main is not None:
        return main
    return options[0] if len(options) == 1 else None


def by_place(tracker: Tracker) -> Offer | None:
    """The option of the bot's last message named by its place ("the first one", "2")."""
    options = choices(tracker)
    text = str(tracker.latest_message.get("text") or "")
    for pattern, index in ORDINALS:
        if options and pattern.search(text) and -len(options) <= index < len(options):
            return options[index]
    return None


def picked(tracker: Tracker) -> Offer | None:
    """An option named by its place, or the one offer."""
    return by_place(tracker) or offered(tracker)


def take(tracker: Tracker, offer: Offer) -> list[EventType]:
    """Events that press ``offer``'s button for the customer (see the module docstring)."""
    entities = offer.entities
    parse = {
        "text": offer.payload,
        "intent": {"name": offer.intent, "confidence": 1.0},
        "intent_ranking": [{"name": offer.intent, "confidence": 1.0}],
        "entities": [
            {"entity": name, "value": value, "start": 0, "end": 0, "extractor": "offer"}
            for name, value in entities.items()
            if name != CONFIRMS
        ],
    }
    pressed = {
        "event": "user",
        "timestamp": None,
        "text": offer.payload,
        "parse_data": parse,
        "input_channel": tracker.get_latest_input_channel(),
        "metadata": latest_metadata(tracker),
    }
    slots = [SlotSet(name, entities[name]) for name in SLOT_ENTITIES if entities.get(name) is not None]
    return [SlotSet(OFFER_SLOT, None), ActionExecuted("action_listen"), pressed, *slots]


def offer_slot(payload: str | None) -> list[EventType]:
    """What an action returns with a message of several buttons whose main one a yes takes."""
    return [SlotSet(OFFER_SLOT, payload)]


def stands_for(tracker: Tracker) -> Offer | None:
    """The request a bare answer stands for when nothing waits for it, as if its button was
    pressed: a product and a number ("3 inbox please") are that many more licenses of it (the
    license form quotes a product the contract lacks as a new one); an invoice number alone
    ("INV-1040") is that invoice; a number alone right after an offer to add licenses or buy a
    product ("3") is that offer for that many. None when it names no such request."""
    named: dict[str, Any] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") and entity.get("value") not in (None, ""):
            named.setdefault(str(entity["entity"]), entity["value"])
    product, quantity, invoice = named.get("product"), named.get("quantity"), named.get("invoice_number")
    if product and quantity is not None:
        return Offer("", payload("add_licenses", product=product, quantity=quantity))
    if invoice and product is None and quantity is None:
        return Offer("", payload("get_invoice", invoice_number=invoice))
    if quantity is not None and product is None and invoice is None:
        offer = offered(tracker)
        if offer is not None and offer.intent in QUANTITY_TAKERS:
            return Offer(offer.title, payload(offer.intent, **{**offer.entities, "quantity": quantity}))
    return None
