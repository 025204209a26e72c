"""What every subscription change shares: quote -> confirm -> order.

- ``show_quote``: the quote as a rich reply with Yes/No buttons; sets ``pending_quote``. A large
  order (``is_large``: LARGE_ORDER_QUANTITY licenses or units, or LARGE_ORDER_AMOUNT a year at list
  price) also offers a sales rep before anything is placed: volume pricing and invoicing are
  theirs to offer, and the customer may still place it as quoted.
- ``confirm_quote`` (registered with ``@on_confirm("pending_quote")``): "yes" re-reads the quote,
  re-quotes it if it expired, else places the order with the quote's idempotency key.
- ``ActionChangeQuantity``: "make it 7" while a quote waits -> the same change, re-quoted.
- ``check_quantity``: 1-10,000 whole units, or what to say. The forms' shared validation is in
  change_forms.py.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError, Conflict, Contract, ContractLine, Quote

from . import _metrics
from ._base import BillingAction, clear, explain
from ._identity import Identity
from ._render import buttons, payload, render
from ._tasks import completed
from .confirm import ask_again, on_confirm, pending, yes_no
from .offers import stands_for, take

MIN_QUANTITY, MAX_QUANTITY = 1, 10_000
EDITIONS = ("essentials", "professional", "enterprise", "unlimited")
UPGRADE_TARGETS = ("professional", "enterprise", "unlimited")
PENDING = "pending_quote"
TRIES = "change_tries"
REQUESTED = "requested_slot"

Refusals = dict[str, dict[str, Any]]  # slot -> what to say (dispatcher.utter_message arguments)

# A large order: this many licenses or units, or this much a year at list price (in the quote's
# currency, major units). The action server's environment; a value it can't read means the default.
LARGE_ORDER_QUANTITY, LARGE_ORDER_AMOUNT = 100, Decimal(100_000)


class Stop(Exception):
    """A form ends here (what to say was said already), with ``events`` if it ended on a quote of
    its own (the slots that quote sets)."""

    def __init__(self, events: list[EventType] | None = None) -> None:
        super().__init__()
        self.events = events or []


# -- small helpers ---------------------------------------------------------------------------------


def product_name(code: str) -> str:
    """Canonical code -> display name (the catalog's names are the title-cased codes)."""
    return code.replace("_", " ").title()


def as_quantity(value: Any) -> int | None:
    """5, 5.0, "5" -> 5; anything else (2.5, "lots", None, True) -> None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def mentioned_entities(tracker: Tracker) -> set[str]:
    return {e.get("entity") for e in tracker.latest_message.get("entities") or []}


async def active_contract(client: ActingClient) -> Contract | None:
    contracts = await client.contracts()
    return next((c for c in contracts if c.status == "active"), contracts[0] if contracts else None)


def per_user_lines(contract: Contract | None) -> list[ContractLine]:
    return [line for line in (contract.lines if contract else ()) if line.unit == "user"]


def seats_meant(contract: Contract | None) -> str | None:
    """What "licenses", "seats" or "users" with no product mean: the edition's seats when the
    edition is sold per user; else the one per-user line if there is only one; else None (ask)."""
    edition = next((line for line in (contract.lines if contract else ()) if line.kind == "edition"), None)
    if edition is not None and edition.unit == "user":
        return edition.product
    seats = per_user_lines(contract)
    return seats[0].product if len(seats) == 1 else None


async def other_lines(client: ActingClient, quote: Quote) -> list[str]:
    """For a licenses quote, the names of the contract's other per-user lines (what "say 'Inbox
    instead'" can pick); a failure here only shortens the quote."""
    if quote.kind != "add_licenses":
        return []
    try:
        contract = await active_contract(client)
    except BillingError:
        return []
    return [line.product_name for line in per_user_lines(contract) if line.product != quote.product]


def upgrade_buttons(current: str | None = None) -> list[dict[str, str]]:
    targets = [e for e in UPGRADE_TARGETS if current is None or EDITIONS.index(e) > EDITIONS.index(current)]
    return buttons(*((f"Upgrade to {product_name(e)}", payload("upgrade_edition", product=e)) for e in targets))


# -- quote, re-quote, order ------------------------------------------------------------------------


def large_order_limits(environ: Any = os.environ) -> tuple[int, Decimal]:
    """(quantity, yearly amount) from LARGE_ORDER_QUANTITY and LARGE_ORDER_AMOUNT."""
    try:
        quantity = int(environ.get("LARGE_ORDER_QUANTITY") or LARGE_ORDER_QUANTITY)
    except ValueError:
        quantity = LARGE_ORDER_QUANTITY
    try:
        amount = Decimal(str(environ.get("LARGE_ORDER_AMOUNT") or LARGE_ORDER_AMOUNT).replace(",", "").replace("_", ""))
    except InvalidOperation:
        amount = LARGE_ORDER_AMOUNT
    return quantity, amount


def yearly_value(quote: Quote) -> Decimal:
    """What the change adds a year at list price, in major units of the quote's currency."""
    return Decimal(quote.unit_price.amount * quote.quantity * 12) / 100


def is_large(quote: Quote, environ: Any = os.environ) -> bool:
    quantity, amount = large_order_limits(environ)
    return quote.quantity >= quantity or yearly_value(quote) >= amount


def show_quote(
    dispatcher: CollectingDispatcher, quote: Quote, *, requoted: bool = False, others: list[str] | tuple[str, ...] = ()
) -> list[EventType]:
    """The quote with Yes/No buttons ("yes" will order exactly this quote); a large one offers a
    sales rep too, before anything is placed. ``others``: the other per-user lines the customer
    can switch a licenses quote to ("say 'Inbox instead'")."""
    large = is_large(quote)
    answers = (
        yes_no("quote", quote.number, yes="Yes, place it", between=(("Talk to sales first", "/talk_to_human"),))
        if large
        else yes_no("quote", quote.number)
    )
    dispatcher.utter_message(
        text=render(
            "changes/quote",
            quote=quote,
            requoted=requoted,
            large=large,
            others=others,
            from_name=product_name(quote.from_product or ""),
            expires=f"{quote.expires_at.astimezone(timezone.utc):%H:%M} UTC",
        ),
        buttons=answers,
    )
    return [SlotSet(PENDING, quote.number), SlotSet("pending_payment", None)]  # a "yes" answers the latest question


async def requote(client: ActingClient, quote: Quote, quantity: int | None = None, product: str | None = None) -> Quote:
    """The same change as ``quote``, priced again today (optionally for another quantity, or
    another product: "Inbox instead")."""
    if quote.kind == "add_licenses":
        return await client.quote_add_licenses(quantity or quote.quantity, product=product or quote.product)
    if quote.kind == "add_product":
        return await client.quote_add_product(product or quote.product, quantity or quote.quantity)
    outcome = await client.request_upgrade(product or quote.product)
    if outcome.quote is None:  # pragma: no cover - only Essentials hands off, and it never quotes
        raise Conflict("This upgrade now goes through your account executive.", code="upgrade_handoff")
    return outcome.quote


def asking_again(intent: str, product: str | None, quantity: Any = None) -> str:
    """The payload of a message asking for the change again: ``/add_licenses{"product":"enterprise","quantity":5}``
    (what is still unknown is left out, so the form asks for it as before)."""
    return payload(intent, product=product, quantity=as_quantity(quantity))


def explain_change(
    dispatcher: CollectingDispatcher, error: BillingError, *, quantity: int | None = None, again: str | None = None
) -> None:
    """A refused change, with the way forward where there is one; other errors centrally
    (``again``: see ``explain``)."""
    product = str(error.details.get("product") or "")
    if isinstance(error, Conflict) and error.code == "edition_limit":
        dispatcher.utter_message(
            text=render("changes/edition_limit", message=error.message), buttons=upgrade_buttons("essentials")
        )
    elif isinstance(error, Conflict) and error.code == "not_subscribed" and product:
        dispatcher.utter_message(
            text=error.message,
            buttons=buttons((f"Buy {product_name(product)}", payload("buy_product", product=product))),
        )
    elif isinstance(error, Conflict) and error.code == "already_subscribed" and product:
        dispatcher.utter_message(
            text=error.message,
            buttons=buttons(
                (
                    f"Add {product_name(product)} licenses",
                    payload("add_licenses", product=product, quantity=quantity or None),
                )
            ),
        )
    elif isinstance(error, Conflict) and error.code in ("not_on_essentials", "use_upgrade"):
        dispatcher.utter_message(text=error.message, buttons=upgrade_buttons())
    else:
        explain(dispatcher, error, again=again)


@on_confirm(PENDING, kind="quote", declined_response="utter_quote_cancelled")
async def confirm_quote(
    dispatcher: CollectingDispatcher, tracker: Tracker, who: Identity, client: ActingClient, number: str
) -> list[EventType]:
    """ "Yes" to a quote: order it once; an expired quote is priced again and asked again."""
    quote = await client.get_quote(number)
    if quote.status == "expired" or (quote.status == "open" and quote.expires_at <= datetime.now(timezone.utc)):
        fresh = await requote(client, quote)
        return show_quote(dispatcher, fresh, requoted=True, others=await other_lines(client, fresh))
    try:
        order = await client.place_order(quote)
    except Conflict as error:
        if error.code != "quote_expired":
            raise
        fresh = await requote(client, quote)
        return show_quote(dispatcher, fresh, requoted=True, others=await other_lines(client, fresh))
    _metrics.ORDERS.labels(who.channel).inc()
    dispatcher.utter_message(text=render("changes/order", order=order, quote=order.quote), **completed("order_placed"))
    return []


def still_waiting(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """After a refused correction the earlier quote still stands: show it again with its buttons, so
    the customer's next "yes" answers the question the bot asked last (the quote), not an offer
    made in the refusal ("Talk to sales")."""
    waiting = pending(tracker)
    if waiting is not None:
        ask_again(dispatcher, tracker, waiting, "utter_confirm_current")
    return []


class ActionChangeQuantity(BillingAction):
    """A correction while a quote waits: "make it 7" / "actually 7" (another quantity), "Inbox
    instead" / "no, Inbox" / "make it Dialer" (another line, the same quantity), or both. The
    change is quoted again and the new quote replaces the old one, which can no longer be
    confirmed (its buttons carry its own number)."""

    def name(self) -> str:
        return "action_change_quantity"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        number = tracker.get_slot(PENDING)
        mentioned = mentioned_entities(tracker)
        quantity = as_quantity(tracker.get_slot("quantity")) if "quantity" in mentioned else None
        products = [
            str(e["value"])
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == "product" and e.get("value")
        ]
        if not number:
            request = stands_for(tracker)  # "3 inbox please", or "3" after "Add licenses"
            if request is not None:
                return take(tracker, request)
            dispatcher.utter_message(response="utter_quantity_without_change")
            return clear("quantity", "product")
        if "quantity" in mentioned:
            refused: Refusals = {}
            if check_quantity(tracker.get_slot("quantity"), refused) is None:
                for message in refused.values():
                    dispatcher.utter_message(**message)
                return [*still_waiting(dispatcher, tracker), *clear("quantity", "product")]
        quote = await client.get_quote(number)
        # "Inbox instead of Enterprise": the product named that is not the quoted one
        product = next((p for p in products if p != quote.product), products[0] if products else None)
        if quote.kind == "change_edition" and quantity is not None:
            dispatcher.utter_message(response="utter_upgrade_covers_all", quantity=quote.quantity)
            return clear("quantity", "product")
        if product == quote.product and quantity in (None, quote.quantity):
            return [
                *show_quote(dispatcher, quote, others=await other_lines(client, quote)),
                *clear("quantity", "product"),
            ]
        try:
            fresh = await requote(client, quote, quantity, product)
        except BillingError as error:
            explain_change(dispatcher, error, quantity=quantity or quote.quantity)
            return [*still_waiting(dispatcher, tracker), *clear("quantity", "product")]
        return [*show_quote(dispatcher, fresh, others=await other_lines(client, fresh)), *clear("quantity", "product")]

    def on_error(self, error: BillingError, tracker: Tracker) -> list[EventType]:
        return clear("quantity", "product")


class QuoteAction(BillingAction, ABC):
    """A form's submit action: quote the change the form collected and ask for a yes."""

    request: str = ""  # the intent that asks for this change (for "Try again")

    @abstractmethod
    async def quote(self, client: ActingClient, product: str, quantity: int | None) -> Quote:
        raise NotImplementedError

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        product = tracker.get_slot("product")
        quantity = as_quantity(tracker.get_slot("quantity"))
        if not product:
            return clear("product", "quantity", TRIES)  # the form was stopped: it said why
        try:
            quote = await self.quote(client, product, quantity)
        except BillingError as error:  # nothing was changed: say why, and the way forward
            explain_change(dispatcher, error, quantity=quantity, again=asking_again(self.request, product, quantity))
            return clear("product", "quantity", TRIES)
        return [
            *show_quote(dispatcher, quote, others=await other_lines(client, quote)),
            *clear("product", "quantity", TRIES),
        ]


def check_quantity(value: Any, refused: Refusals) -> int | None:
    """1-10,000 whole units; else None, and what to say goes into ``refused``."""
    if value is None:
        return None
    quantity = as_quantity(value)
    if quantity is not None and quantity > MAX_QUANTITY:  # a large order: the range, and sales for it
        refused["quantity"] = {"response": "utter_quantity_too_large", "buttons": SALES_FOR_LARGE_ORDERS}
        return None
    if quantity is None or quantity < MIN_QUANTITY:
        refused["quantity"] = {"response": "utter_invalid_quantity"}
        return None
    return quantity


SALES_FOR_LARGE_ORDERS = buttons(("Talk to sales", "/talk_to_human"))

# What the validation says about a refused quantity asks for it again in the same message.
