"""Adding licenses: ``license_form`` (product, quantity) -> quote -> "yes" -> order.

"Licenses", "seats" or "users" with no product mean the edition's seats ("add 5 licenses" at
Acme: Enterprise); the quote names the product and the other per-user lines ("say 'Inbox
instead'"). Only a named product picks another line. The user is asked which product only where
the edition is not sold per user and the contract has several per-user lines.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, Contract, Quote

from ._base import BillingAction
from ._render import buttons, payload, render
from .change_forms import AskQuantity, ChangeFormValidation
from .quotes import (
    EDITIONS,
    PENDING,
    QuoteAction,
    Refusals,
    Stop,
    active_contract,
    check_quantity,
    per_user_lines,
    product_name,
    seats_meant,
    show_quote,
    upgrade_buttons,
)


class ValidateLicenseForm(ChangeFormValidation):
    form = "license_form"
    slots = ("product", "quantity")
    triggers = ("add_licenses",)

    async def fill(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        client: ActingClient,
        values: dict[str, Any],
        mentioned: set[str],
    ) -> tuple[dict[str, Any], Refusals]:
        refused: Refusals = {}
        quantity = check_quantity(values["quantity"], refused)
        product = values["product"]
        pending = tracker.get_slot(PENDING)
        if product is None and pending and "quantity" in mentioned:
            # "actually, 7 licenses" while a quote waits: the same product
            quote = await client.get_quote(pending)
            product = quote.product if quote.kind == "add_licenses" else None
        if product is None or "product" in mentioned:
            contract = await active_contract(client)
            owned = {line.product for line in (contract.lines if contract else ())}
            if product is None:
                product = seats_meant(contract)
            elif product is not None and product not in owned:
                await not_on_contract(dispatcher, client, contract, product, quantity)
        return {"product": product, "quantity": quantity}, refused


async def not_on_contract(
    dispatcher: CollectingDispatcher,
    client: ActingClient,
    contract: Contract | None,
    product: str,
    quantity: int | None,
) -> None:
    """More licenses of a product the contract doesn't have: an edition is changed by an upgrade;
    any other product is a purchase, quoted at once when the number was said ("we'll take 5 of
    those" after hearing about Field Service), else offered as a button that carries it. Ends the
    license form either way (``Stop``)."""
    if product in EDITIONS:
        edition = next((line.product for line in (contract.lines if contract else ()) if line.kind == "edition"), None)
        dispatcher.utter_message(response="utter_edition_needs_upgrade", buttons=upgrade_buttons(edition))
        raise Stop
    if quantity is not None:
        quote = await client.quote_add_product(product, quantity)
        dispatcher.utter_message(response="utter_quoted_as_new_product", product_name=product_name(product))
        raise Stop(show_quote(dispatcher, quote))
    dispatcher.utter_message(
        response="utter_not_on_contract",
        product_name=product_name(product),
        buttons=buttons((f"Buy {product_name(product)}", payload("buy_product", product=product))),
    )
    raise Stop


class ActionAskLicenseFormProduct(BillingAction):
    """ "Which product?" with one button per per-user product on the contract."""

    def name(self) -> str:
        return "action_ask_license_form_product"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        lines = per_user_lines(await active_contract(client))
        dispatcher.utter_message(
            text=render("changes/which_product", lines=lines),
            buttons=buttons(*((line.product_name, payload("inform", product=line.product)) for line in lines)),
        )
        return []


class ActionQuoteLicenses(QuoteAction):
    request = ValidateLicenseForm.triggers[0]

    def name(self) -> str:
        return "action_quote_licenses"

    async def quote(self, client: ActingClient, product: str, quantity: int | None) -> Quote:
        return await client.quote_add_licenses(quantity or 0, product=product)


class ActionAskLicenseFormQuantity(AskQuantity):
    response = "utter_ask_license_form_quantity"

    def name(self) -> str:
        return "action_ask_license_form_quantity"
