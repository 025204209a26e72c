"""Edition upgrades: ``upgrade_form`` (the edition, in the ``product`` slot) -> the backend
decides: from Essentials a sales handoff (an account executive calls), otherwise a quote to
confirm like every change. Downgrades and the same edition get the backend's answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, BillingError, Conflict

from ._base import BillingAction, clear, transcript
from ._render import render
from .change_forms import ChangeFormValidation
from .handoff import tell_gateway
from .quotes import (
    EDITIONS,
    TRIES,
    Refusals,
    active_contract,
    asking_again,
    explain_change,
    product_name,
    show_quote,
)
from .subscription import Reduction, offer_sales


class ValidateUpgradeForm(ChangeFormValidation):
    form = "upgrade_form"
    slots = ("product",)
    triggers = ("upgrade_edition",)

    async def fill(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        client: ActingClient,
        values: dict[str, Any],
        mentioned: set[str],
    ) -> tuple[dict[str, Any], Refusals]:
        edition = values["product"]
        if edition is not None and edition not in EDITIONS:
            return {"product": None}, {
                "product": {"response": "utter_not_an_edition", "product_name": product_name(edition)}
            }
        return {"product": edition}, {}


class ActionRequestUpgrade(BillingAction):
    def name(self) -> str:
        return "action_request_upgrade"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        edition = tracker.get_slot("product")
        if not edition:
            return clear("product", TRIES)
        try:
            outcome = await client.request_upgrade(edition)
        except Conflict as error:
            if error.code != "downgrade_needs_sales":
                explain_change(dispatcher, error, again=asking_again(ValidateUpgradeForm.triggers[0], edition))
                return clear("product", TRIES)
            # a lower edition: what the contract allows, and sales offered (nothing opened yet)
            return [
                *offer_sales(dispatcher, Reduction("downgrade", edition), await active_contract(client)),
                *clear("product", TRIES),
            ]
        except BillingError as error:
            explain_change(dispatcher, error, again=asking_again(ValidateUpgradeForm.triggers[0], edition))
            return clear("product", TRIES)
        if outcome.quote is not None:
            return [*show_quote(dispatcher, outcome.quote), *clear("product", TRIES)]
        handoff = outcome.handoff
        if handoff is not None:  # the account executive's queue hears of it (Slack post, live bridge)
            await tell_gateway(
                handoff,
                tracker,
                who,
                client,
                intent="upgrade_edition",
                lead=None,
                said=transcript(tracker, turns=20),
                page_url=None,
            )
        dispatcher.utter_message(
            text=render(
                "changes/upgrade_handoff",
                handoff=handoff,
                current=handoff.edition if handoff else None,
                target=product_name(edition),
                description=await _description(client, edition),
            )
        )
        return clear("product", TRIES)


async def _description(client: ActingClient, code: str) -> str:
    """The catalog's one-line description; the handoff exists already, so a failure here only
    shortens the reply."""
    try:
        return next((p.description for p in await client.catalog() if p.code == code), "")
    except BillingError:
        return ""
