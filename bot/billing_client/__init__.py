"""The one typed async client for the billing API, shared by the app environment (Python 3.13,
pydantic 2) and the Rasa environment (Python 3.10, pydantic 1): it needs only httpx and the
standard library.

    from bot.billing_client import BillingClient, Forbidden, Unavailable

    async with BillingClient.from_env() as billing:
        user = billing.as_user("alex@acme.example", channel="slack")
        try:
            quote = await user.quote_add_licenses(5, product="enterprise")
            order = await user.place_order(quote)
        except Forbidden as exc:      # exc.code == "needs_manage_billing"; exc.admins
            ...
        except Unavailable as exc:    # billing down or slow: exc.message is safe to show
            ...
"""

from __future__ import annotations

from .client import CHANNELS, ActingClient, BillingClient, Channel
from .errors import (
    BillingError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PaymentFailed,
    Unauthorized,
    Unavailable,
)
from .models import (
    Balance,
    BillingProfile,
    Callback,
    Card,
    Case,
    Contact,
    Contract,
    ContractLine,
    Estimate,
    Handoff,
    Invoice,
    InvoiceLine,
    Lead,
    Link,
    Me,
    Money,
    Order,
    Payment,
    Person,
    Product,
    Quote,
    SharedInvoice,
    UpgradeOutcome,
)

__all__ = [
    # the client
    "BillingClient",
    "ActingClient",
    "Channel",
    "CHANNELS",
    # errors
    "BillingError",
    "Unauthorized",
    "PaymentFailed",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Invalid",
    "Unavailable",
    # data
    "Money",
    "Person",
    "Product",
    "Estimate",
    "Me",
    "Contact",
    "Contract",
    "ContractLine",
    "Quote",
    "UpgradeOutcome",
    "Order",
    "Invoice",
    "InvoiceLine",
    "Balance",
    "Link",
    "Payment",
    "Card",
    "BillingProfile",
    "SharedInvoice",
    "Case",
    "Lead",
    "Handoff",
    "Callback",
]
