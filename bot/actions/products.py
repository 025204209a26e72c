"""Buying a product or add-on the contract doesn't have yet: ``product_form`` (product,
quantity) -> quote -> "yes" -> order. Essentials can add only the common add-ons; a product the
contract already has is offered as more licenses instead."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, Quote

from ._base import BillingAction
from ._render import buttons, payload, render
from .change_forms import AskQuantity, ChangeFormValidation
from .quotes import (
    EDITIONS,
    QuoteAction,
    Refusals,
    Stop,
    active_contract,
    check_quantity,
    product_name,
    upgrade_buttons,
)


def _edition(contract) -> str | None:
    return next((line.product for line in (contract.lines if contract else ()) if line.kind == "edition"), None)


class ValidateProductForm(ChangeFormValidation):
    form = "product_form"
    slots = ("product", "quantity")
    triggers = ("buy_product",)
    context_needs_pointer = False

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
        if product is not None and "product" in mentioned:
            contract = await active_contract(client)
            if product in EDITIONS:
                dispatcher.utter_message(
                    response="utter_edition_needs_upgrade", buttons=upgrade_buttons(_edition(contract))
                )
                raise Stop
            if product in {line.product for line in (contract.lines if contract else ())}:
                # "buy inbox for 5 users" with Inbox on the contract: more of it. The form goes on
                # (asking how many if that wasn't said) and its quote adds licenses.
                dispatcher.utter_message(response="utter_already_subscribed_adding", product_name=product_name(product))
        return {"product": product, "quantity": quantity}, refused


class ActionAskProductFormProduct(BillingAction):
    """ "Which product?" with the products this contract can add (Essentials: the common add-ons)."""

    def name(self) -> str:
        return "action_ask_product_form_product"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        contract = await active_contract(client)
        currency = contract.monthly_total.currency if contract else "USD"
        owned = {line.product for line in (contract.lines if contract else ())}
        essentials = _edition(contract) == "essentials"
        choices = [
            p
            for p in await client.catalog(currency)
            if p.kind != "edition"
            and p.code not in owned
            and p.price is not None
            and (p.available_on_essentials or not essentials)
        ]
        dispatcher.utter_message(
            text=render("changes/which_new_product", products=choices, essentials=essentials),
            buttons=buttons(*((p.name, payload("inform", product=p.code)) for p in choices)),
        )
        return []


class ActionQuoteProduct(QuoteAction):
    request = ValidateProductForm.triggers[0]

    def name(self) -> str:
        return "action_quote_product"

    async def quote(self, client: ActingClient, product: str, quantity: int | None) -> Quote:
        contract = await active_contract(client)
        if product in {line.product for line in (contract.lines if contract else ())}:  # more of what they have
            return await client.quote_add_licenses(quantity or 1, product=product)
        return await client.quote_add_product(product, quantity or 1)


class ActionAskProductFormQuantity(AskQuantity):
    response = "utter_ask_product_form_quantity"

    def name(self) -> str:
        return "action_ask_product_form_quantity"
