"""What the bot suggests when it is not sure or has nothing waiting: "did you mean" choices from
the classifier's ranking, and the common requests of the customer's role as buttons.

Only requests a customer starts are ever suggested (never yes/no, greetings or chit-chat), each
with the entities the message had, so a click or a "yes" carries on where the message left off.
"""

from __future__ import annotations

from typing import Any

from bot.billing_client import ActingClient, BillingError

from ._identity import Identity
from ._render import buttons, payload
from .quotes import as_quantity

CUSTOMER_BUTTONS = buttons(
    ("Add licenses", "/add_licenses"),
    ("My invoices", "/list_invoices"),
    ("What do we owe?", "/check_balance"),
    ("Pricing", "/ask_pricing"),
    ("Talk to a person", "/talk_to_human"),
)
# Signed in without Manage Billing: what they may do themselves, and how to get the permission.
MEMBER_BUTTONS = buttons(
    ("Editions and prices", "/ask_pricing"),
    ("What's in each edition?", "/product_info"),
    ("Open a support case", "/contact_support"),
    ("Talk to a person", "/talk_to_human"),
)
VISITOR_BUTTONS = buttons(
    ("Editions and prices", "/ask_pricing"),
    ("What's in each edition?", "/product_info"),
    ("Talk to sales", "/talk_to_human"),
)
PERSON_BUTTONS = buttons(("Talk to a person", "/talk_to_human"), ("Call me back", "/request_callback"))

# What a guess is called in "Did you mean to ...?" (intents a user starts; not yes/no or chit-chat)
SUGGESTIONS = {
    "add_licenses": "add licenses",
    "buy_product": "buy a product",
    "upgrade_edition": "upgrade your edition",
    "view_subscription": "see your subscription",
    "list_invoices": "see your invoices",
    "get_invoice": "get an invoice",
    "share_invoice": "send an invoice to someone",
    "download_invoice": "download an invoice",
    "pay_invoice": "pay an invoice",
    "check_balance": "check what you owe",
    "update_payment_method": "change your payment card",
    "update_billing_details": "change your billing details",
    "cancel_subscription": "cancel your subscription",
    "contact_support": "open a support case",
    "case_status": "check on a support case",
    "ask_pricing": "ask about prices",
    "product_info": "hear about our products",
    "talk_to_human": "talk to a person",
    "request_callback": "get a call back",
}
# The same guesses when the message named a product: the choice says which ("buy Data Storage").
ABOUT_PRODUCT = {
    "add_licenses": "add {quantity}{product} licenses",
    "buy_product": "buy {quantity}{product}",
    "ask_pricing": "ask about {product} prices",
    "product_info": "hear about {product}",
}
SUGGEST_FROM = 0.2  # the best guess under this is no better than a shrug: no "did you mean"
ALSO_FROM = 0.05  # the runners-up offered beside it: at least this likely
MOST = 3


def suggestions(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(what to call it, button payload) for the classifier's two or three most likely requests,
    best first; [] when even the best is a shrug or not a request at all."""
    entities = {
        e["entity"]: e["value"] for e in message.get("entities") or [] if e.get("entity") and e.get("value") is not None
    }
    found: list[tuple[str, str]] = []
    for ranked in message.get("intent_ranking") or []:
        name, confidence = ranked.get("name"), float(ranked.get("confidence") or 0.0)
        if name in ("nlu_fallback", "out_of_scope") or any(p.startswith(f"/{name}") for _, p in found):
            continue
        if not found and (name not in SUGGESTIONS or confidence < SUGGEST_FROM):
            return []
        if confidence < ALSO_FROM or len(found) == MOST:
            break
        if name in SUGGESTIONS:
            product = entities.get("product")
            called = (
                ABOUT_PRODUCT[name].format(product=str(product).replace("_", " ").title(), quantity=how_many(entities))
                if (product and name in ABOUT_PRODUCT)
                else SUGGESTIONS[name]
            )
            found.append((called, payload(name, **entities)))
    return found


def how_many(entities: dict[str, Any]) -> str:
    """ "2 " when the message said a quantity (the choice names it: "add 2 File Storage licenses")."""
    quantity = as_quantity(entities.get("quantity"))
    return f"{quantity:,} " if quantity is not None else ""


async def next_steps(who: Identity, client: ActingClient) -> list[dict[str, str]]:
    """The common requests of the customer's role, as buttons."""
    if not who.known:
        return VISITOR_BUTTONS
    try:
        me = await client.me()
    except BillingError:  # billing is asked only to tailor the buttons: without it, the usual ones
        return CUSTOMER_BUTTONS
    return CUSTOMER_BUTTONS if me.manage_billing else MEMBER_BUTTONS
