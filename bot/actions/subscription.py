"""The subscription as a whole: what is on it (``action_view_subscription``), and what the
assistant cannot do itself: reducing licences, removing a product, moving to a lower edition,
cancelling (``action_cancel_subscription``).

None of those is self-served: licences can't be reduced mid-term, and the contract changes at
its renewal. So the reply first says what the contract allows (with its renewal date) and offers
sales as a choice; a handoff is opened only on the customer's "yes" (``@on_confirm``), never on
the request itself.

A question about the billing side of the account ("what billing address do you have?", "who gets
our invoices?") is a read of the subscription too, and gets the billing details on file, with the
offer to change them, not the licence lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, Contract

from ._base import BillingAction, transcript
from ._identity import Identity
from ._render import PHONE, buttons, render
from .confirm import ask_again, on_confirm, pending, yes_no
from .handoff import tell_gateway
from .quotes import EDITIONS, PENDING, active_contract, as_quantity, product_name

PENDING_REQUEST = "pending_request"  # what the customer may ask sales for: "reduce:dialer:3", "cancel::"

# Words that make a request a move to a lower edition, or fewer licences, rather than the end of
# the contract. Without them, a named product is its removal; nothing named is a cancellation.
_DOWNGRADE = re.compile(
    r"\b(?:down\s*grad\w*|downgrad\w*|lower\s+(?:edition|plan|tier)|cheaper\s+(?:edition|plan)|"
    r"smaller\s+edition|(?:go|move|step|switch)\w*\s+(?:us\s+)?down)\b",
    re.I,
)
_FEWER = re.compile(
    r"\b(?:reduc\w*|fewer|less|lower\w*|decreas\w*|cut\w*|shrink\w*|give\s+back|"
    r"(?:remove|drop|take\s+off)\w*\s+(?:\w+\s+){0,3}?(?:licen[cs]es?|seats?|users?))\b",
    re.I,
)


@dataclass(frozen=True)
class Reduction:
    """What the customer wants less of: ``kind`` is cancel, reduce (licences), remove (a
    product) or downgrade (the edition); ``product`` and ``quantity`` where they said them."""

    kind: str
    product: str | None = None
    quantity: int | None = None

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.product or ''}:{self.quantity or ''}"

    @classmethod
    def parse(cls, value: str) -> Reduction:
        kind, _, rest = value.partition(":")
        product, _, quantity = rest.partition(":")
        return cls(kind, product or None, as_quantity(quantity) if quantity else None)

    def reason(self) -> str:
        name = product_name(self.product) if self.product else None
        if self.kind == "reduce":
            return f"Licence reduction request: {self.quantity or 'fewer'} {name or ''} licences".replace("  ", " ")
        if self.kind == "remove":
            return f"Removal request: {name or 'a product'}"
        if self.kind == "downgrade":
            return f"Downgrade request{f': to {name}' if name else ''}"
        return "Cancellation request"


def what_is_reduced(text: str, entities: list[dict], contract: Contract | None) -> Reduction:
    """Read a request to have less: the words say which kind, the entities what of."""
    found = {e.get("entity"): e.get("value") for e in entities if e.get("value") is not None}
    product = found.get("product")
    product = str(product) if product else None
    quantity = as_quantity(found.get("quantity"))
    edition = next((line.product for line in (contract.lines if contract else ()) if line.kind == "edition"), None)
    if _DOWNGRADE.search(text) or (
        product in EDITIONS
        and edition in EDITIONS
        and product != edition
        and EDITIONS.index(product) < EDITIONS.index(edition)
    ):
        return Reduction("downgrade", product if product in EDITIONS and product != edition else None)
    if quantity is not None or _FEWER.search(text):
        owned = {line.product for line in (contract.lines if contract else ())}
        return Reduction("reduce", product if product in owned else edition, quantity)
    if product and product not in EDITIONS:
        return Reduction("remove", product)
    return Reduction("cancel")


BILLING_DETAILS = re.compile(
    r"\bbilling (details?|info\w*|address|contact|e-?mail|profile)|\b(address|contact|e-?mail)\b.{0,30}\binvoices?\b|"
    r"\binvoices? (go|goes|going|are sent|get sent)\b|"
    r"\b(send|sending) (our |the )?invoices\b|\bgets? (our |the )?invoices\b",
    re.IGNORECASE,
)


class ActionViewSubscription(BillingAction):
    def name(self) -> str:
        return "action_view_subscription"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        if BILLING_DETAILS.search(str(tracker.latest_message.get("text") or "")):
            profile = await client.billing_profile()  # billing refuses a user without Manage Billing
            dispatcher.utter_message(
                text=render("payments/billing_profile", profile=profile, changed=None, ask=False),
                buttons=buttons(
                    ("Change billing contact", "change the billing contact email"),
                    ("Change billing address", "change the billing address"),
                ),
            )
        else:
            me = await client.me()
            dispatcher.utter_message(text=render("changes/subscription", me=me, contract=me.contract))
        # Asked while a quote (or payment) waits: the answer, then that question again with its
        # buttons, so the customer's next "yes" answers the question the bot asked last.
        waiting = pending(tracker)
        if waiting is not None and not tracker.active_loop_name:
            ask_again(dispatcher, tracker, waiting, "utter_confirm_current")
        return []


class ActionCancelSubscription(BillingAction):
    """Cancelling, reducing, removing, downgrading: what the contract allows, and sales offered."""

    def name(self) -> str:
        return "action_cancel_subscription"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        if not who.known:
            dispatcher.utter_message(response="utter_cancel_not_signed_in", phone=PHONE)
            return []
        contract = await active_contract(client)  # needs Manage Billing: refused centrally otherwise
        wanted = what_is_reduced(
            str(tracker.latest_message.get("text") or ""), tracker.latest_message.get("entities") or [], contract
        )
        return offer_sales(dispatcher, wanted, contract)


def offer_sales(dispatcher: CollectingDispatcher, wanted: Reduction, contract: Contract | None) -> list[EventType]:
    """What the contract allows for ``wanted`` (with its renewal date), and sales as a Yes/No."""
    lines = {line.product: line for line in (contract.lines if contract else ())}
    line = lines.get(wanted.product or "")
    yes = "Yes, contact my account manager" if wanted.kind == "cancel" else "Yes, talk to sales"
    dispatcher.utter_message(
        text=render(
            "changes/reduction",
            wanted=wanted,
            contract=contract,
            line=line,
            product=product_name(wanted.product) if wanted.product else None,
            renewal=contract.term_end + timedelta(days=1) if contract else None,
        ),
        buttons=yes_no("request", wanted.value, yes=yes, no="No, keep it as it is"),
    )
    # a "yes" answers the latest question: this offer, not an earlier quote or payment
    return [SlotSet(PENDING_REQUEST, wanted.value), SlotSet(PENDING, None), SlotSet("pending_payment", None)]


@on_confirm(PENDING_REQUEST, kind="request", declined_response="utter_request_declined")
async def ask_sales(
    dispatcher: CollectingDispatcher, tracker: Tracker, who: Identity, client: ActingClient, value: str
) -> list[EventType]:
    """The customer chose a person: a sales handoff for what they asked, the rep is told."""
    wanted = Reduction.parse(value)
    handoff = await client.open_handoff(
        "sales",
        wanted.reason(),
        intent="cancel_subscription",
        conversation_id=tracker.sender_id,
        transcript=transcript(tracker),
    )
    await tell_gateway(
        handoff,
        tracker,
        who,
        client,
        intent="cancel_subscription",
        lead=None,
        said=transcript(tracker, turns=20),
        page_url=None,
    )
    dispatcher.utter_message(text=render("changes/cancellation", handoff=handoff, wanted=wanted))
    return []
