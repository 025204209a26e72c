"""Pricing and product questions, for visitors and customers alike: the public catalog.

"how much is Enterprise for 40 users?" -> per user/month, monthly and annual list price;
"how much is Dialer?" -> the list price per unit/month; "pricing?" -> every edition and add-on.
Prices are in the visitor's currency (USD), or a known customer's org currency.

Anonymous visitors are prospects: every answer has a "Talk to sales" button, and the first price
answer of a conversation also says what a sales rep can do for them (the offer of golden
conversation 4), once, not after every question.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError, Product

from ._base import BillingAction
from ._identity import Identity
from ._render import buttons, render

DEFAULT_CURRENCY = "USD"
MIN_QUANTITY, MAX_QUANTITY = 1, 10_000
TALK_TO_SALES = buttons(("Talk to sales", "/talk_to_human"))
OFFER_MARK = "A sales rep can go through"  # in basics/sales_offer.txt: how an earlier offer is recognised


def latest_entity(tracker: Tracker, entity: str) -> Any:
    """The value of ``entity`` in the latest user message (not an older slot value)."""
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == entity and found.get("value") not in (None, ""):
            return found["value"]
    return None


def asked(tracker: Tracker) -> tuple[str | None, int | None]:
    """Product and quantity of this question. A bare quantity ("and for 50?") keeps the product
    asked about before; a new product drops the old quantity."""
    product, quantity = latest_entity(tracker, "product"), latest_entity(tracker, "quantity")
    if product is None and quantity is not None:
        product = tracker.get_slot("product")
    try:
        number = int(float(quantity)) if quantity is not None else None
    except (TypeError, ValueError):
        number = None
    return (str(product) if product else None), number


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

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  who: Identity, client: ActingClient) -> list[EventType]:
        product, quantity = asked(tracker)
        currency = await currency_for(who, client)
        offer = not who.known and not offered_sales(tracker)

        def answer(text: str, amount: str | None = None) -> None:
            """The price; for a visitor with the sales button, the first time with the offer too."""
            if offer:
                text += "\n\n" + render("basics/sales_offer", amount=amount)
            dispatcher.utter_message(text=text, **({} if who.known else {"buttons": TALK_TO_SALES}))

        if quantity is not None and not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
            dispatcher.utter_message(text=render("basics/pricing_quantity", low=MIN_QUANTITY, high=MAX_QUANTITY))
            return []
        if product and quantity:
            estimate = await client.estimate(product, quantity, currency)
            amount = units(estimate.product.unit, estimate.quantity)
            answer(render("basics/pricing_estimate", e=estimate, amount=amount), amount)
            return []
        catalog = await client.catalog(currency)
        if product:
            found = next((p for p in catalog if p.code == product), None)
            if found is not None:
                answer(render("basics/pricing_unit", p=found, currency=currency))
                return []
        answer(render("basics/pricing_catalog", catalog=catalog, currency=currency))
        return []


class ActionProductInfo(BillingAction):
    def name(self) -> str:
        return "action_product_info"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  who: Identity, client: ActingClient) -> list[EventType]:
        product = latest_entity(tracker, "product") or tracker.get_slot("product")
        currency = await currency_for(who, client)
        catalog = await client.catalog(currency)
        editions = [p for p in catalog if p.kind == "edition"]
        extra = {} if who.known else {"buttons": TALK_TO_SALES}
        found = next((p for p in catalog if p.code == product), None) if product else None
        if found is None:
            dispatcher.utter_message(text=render("basics/product_overview", catalog=catalog), **extra)
        else:
            dispatcher.utter_message(text=render("basics/product_info", p=found,
                                                 editions=editions_for(found, editions)), **extra)
        return []
