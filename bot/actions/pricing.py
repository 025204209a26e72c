"""Pricing and product questions, for visitors and customers alike: the public catalog.

"how much is Enterprise for 40 users?" -> per user/month, monthly and annual list price;
"how much is Dialer?" -> the list price per unit/month; "pricing?" -> every edition and add-on.
Prices are in the visitor's currency (USD), or a known customer's org currency.

Follow-ups use what was just discussed: every price or product answer remembers its product and
quantity (slots ``priced_product``, ``priced_quantity``), and a follow-up that names only one of
them ("and enterprise?", "for 30 people", "5 of those", "how much is it then") takes the other from
the answer just given. The memory is read only when the bot's previous answer was a price or product
answer, so a number said an hour ago in another flow never slips into a price.

A question asked while a quote or payment waits for a yes is answered, then that question is shown
again with its buttons; a bare number then goes to the waiting quote ("make it 7"), not to prices.

Anonymous visitors are prospects: every answer has a "Talk to sales" button, and the first price
answer of a conversation also says what a sales rep can do for them (the offer of golden
conversation 4), once, not after every question.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError, Product

from ._base import BillingAction
from ._identity import Identity
from ._render import buttons, render
from .confirm import ask_again, pending

DEFAULT_CURRENCY = "USD"
MIN_QUANTITY, MAX_QUANTITY = 1, 10_000
TALK_TO_SALES = buttons(("Talk to sales", "/talk_to_human"))
OFFER_MARK = "A sales rep can go through"  # in basics/sales_offer.txt: how an earlier offer is recognised
PRICED_PRODUCT, PRICED_QUANTITY = "priced_product", "priced_quantity"
ANSWERS = {"action_pricing", "action_product_info"}  # the answers a follow-up can lean on
# A follow-up with neither product nor number that points back at the last answer ("how much is it
# then", "price for those?"); "what are your prices" names nothing and gets the whole catalog.
POINTS_BACK = re.compile(r"\b(it|that|this|those|these|them|one|then|same)\b", re.IGNORECASE)


def latest_entity(tracker: Tracker, entity: str) -> Any:
    """The value of ``entity`` in the latest user message (not an older slot value)."""
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == entity and found.get("value") not in (None, ""):
            return found["value"]
    return None


def as_count(value: Any) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def just_answered(tracker: Tracker) -> bool:
    """Whether the bot's answer just before the latest user message was a price or product answer."""
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and kind == "action" and event.get("name") not in ("action_listen", None):
            return event.get("name") in ANSWERS
    return False


def asked(tracker: Tracker) -> tuple[str | None, int | None]:
    """Product and quantity of this question. A follow-up to a price or product answer that names
    only one of them takes the other from that answer; a bare quantity otherwise keeps the product
    talked about before. A new product with no number, out of a follow-up, is priced per unit."""
    product, quantity = latest_entity(tracker, "product"), as_count(latest_entity(tracker, "quantity"))
    follow_up = just_answered(tracker)
    if product is None and quantity is not None:
        product = (follow_up and tracker.get_slot(PRICED_PRODUCT)) or tracker.get_slot("product")
    elif product is not None and quantity is None and follow_up:
        quantity = as_count(tracker.get_slot(PRICED_QUANTITY))
    elif (
        product is None
        and quantity is None
        and follow_up
        and POINTS_BACK.search(str(tracker.latest_message.get("text") or ""))
    ):
        product, quantity = tracker.get_slot(PRICED_PRODUCT), as_count(tracker.get_slot(PRICED_QUANTITY))
    return (str(product) if product else None), quantity


def remember(product: str | None, quantity: int | None) -> list[EventType]:
    """What a follow-up can refer to: the product and quantity this answer was about."""
    return [SlotSet(PRICED_PRODUCT, product), SlotSet(PRICED_QUANTITY, quantity)]


def still_waiting(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """A quote or payment waiting for a yes is shown again, with its buttons, after the answer."""
    waiting = pending(tracker)
    if waiting is not None and not tracker.active_loop_name:  # a form asks its own question again
        ask_again(dispatcher, tracker, waiting, "utter_confirm_current")


def quantity_for_the_waiting_quote(tracker: Tracker) -> bool:
    """A bare number ("make it 7") while a quote waits belongs to that quote, even right after a
    price answer."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return (
        intent == "inform"
        and latest_entity(tracker, "quantity") is not None
        and latest_entity(tracker, "product") is None
        and pending(tracker) is not None
    )


async def currency_for(who: Identity, client: ActingClient) -> str:
    """A known customer's org currency; visitors (and anything unclear) get USD."""
    if not who.known:
        return DEFAULT_CURRENCY
    try:
        return (await client.me()).currency or DEFAULT_CURRENCY
    except BillingError:
        return DEFAULT_CURRENCY


def units(unit: str, quantity: int) -> str:
    """'user', 40 -> '40 users'; '1 GB block', 2 -> '2 × 1 GB blocks'; 'sandbox', 2 -> '2 sandboxes'."""
    if unit[:1].isdigit():
        return f"{quantity} × {unit}{'s' if quantity != 1 else ''}"
    if quantity == 1:
        return f"1 {unit}"
    return f"{quantity} {unit}{'es' if unit.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


def editions_for(product: Product, editions: list[Product]) -> list[str]:
    """Names of the editions that can add ``product``."""
    return [e.name for e in editions if e.code != "essentials" or product.available_on_essentials]


def offered_sales(tracker: Tracker) -> bool:
    """Whether this conversation's visitor was offered a sales rep after a price already."""
    return any(e.get("event") == "bot" and OFFER_MARK in str(e.get("text") or "") for e in tracker.events)


class ActionPricing(BillingAction):
    def name(self) -> str:
        return "action_pricing"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]:
        if quantity_for_the_waiting_quote(tracker):
            return [FollowupAction("action_change_quantity")]
        product, quantity = asked(tracker)
        currency = await currency_for(who, client)
        offer = not who.known and not offered_sales(tracker)

        def answer(text: str, amount: str | None = None) -> None:
            """The price; for a visitor with the sales button, the first time with the offer too."""
            if offer:
                text += "\n\n" + render("basics/sales_offer", amount=amount)
            dispatcher.utter_message(text=text, **({} if who.known else {"buttons": TALK_TO_SALES}))
            still_waiting(dispatcher, tracker)

        if quantity is not None and not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
            dispatcher.utter_message(
                text=render("basics/pricing_quantity", low=MIN_QUANTITY, high=MAX_QUANTITY), buttons=TALK_TO_SALES
            )
            still_waiting(dispatcher, tracker)
            return remember(product, None)
        if product and quantity:
            estimate = await client.estimate(product, quantity, currency)
            amount = units(estimate.product.unit, estimate.quantity)
            answer(render("basics/pricing_estimate", e=estimate, amount=amount), amount)
            return remember(product, quantity)
        catalog = await client.catalog(currency)
        if product:
            found = next((p for p in catalog if p.code == product), None)
            if found is not None:
                answer(render("basics/pricing_unit", p=found, currency=currency))
                return remember(product, quantity)
        answer(render("basics/pricing_catalog", catalog=catalog, currency=currency))
        return remember(None, quantity)


class ActionProductInfo(BillingAction):
    def name(self) -> str:
        return "action_product_info"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]:
        product = (
            latest_entity(tracker, "product")
            or (just_answered(tracker) and tracker.get_slot(PRICED_PRODUCT))
            or tracker.get_slot("product")
        )
        currency = await currency_for(who, client)
        catalog = await client.catalog(currency)
        editions = [p for p in catalog if p.kind == "edition"]
        extra = {} if who.known else {"buttons": TALK_TO_SALES}
        found = next((p for p in catalog if p.code == product), None) if product else None
        if found is None:
            dispatcher.utter_message(text=render("basics/product_overview", catalog=catalog), **extra)
        else:
            dispatcher.utter_message(
                text=render("basics/product_info", p=found, editions=editions_for(found, editions)), **extra
            )
        still_waiting(dispatcher, tracker)
        return [SlotSet(PRICED_PRODUCT, found.code if found else None)]
