"""What the billing API returns, as frozen dataclasses (no pydantic: they are shared by the app
environment, pydantic 2, and the Rasa environment, pydantic 1). This module gathers them; each
part of the API has its own module beside it:

    values.py    Money, Link
    catalog.py   Product, Estimate
    account.py   Me, Person, Contract, ContractLine, Contact, Card, BillingProfile
    orders.py    Quote, Order, UpgradeOutcome
    invoices.py  Invoice, InvoiceLine, Balance, Payment, SharedInvoice
    people.py    Case, Lead, Handoff, Callback

Each type has a ``from_json`` that reads the API's JSON explicitly: money is ``Money`` (int minor
units, never float), dates are ``datetime.date``, timestamps are timezone-aware ``datetime``.
A malformed answer raises ``ValueError``/``TypeError``/``KeyError``; the client turns that into
``Unavailable(code="bad_response")``.
"""

from __future__ import annotations

from .account import PROFILE_FIELDS, BillingProfile, Card, Contact, Contract, ContractLine, Me, Person
from .catalog import Estimate, Product
from .invoices import Balance, Invoice, InvoiceLine, Payment, SharedInvoice
from .orders import Order, Quote, UpgradeOutcome
from .people import Callback, Case, Handoff, Lead
from .values import Link, Money

__all__ = [
    "Balance",
    "BillingProfile",
    "Callback",
    "Card",
    "Case",
    "Contact",
    "Contract",
    "ContractLine",
    "Estimate",
    "Handoff",
    "Invoice",
    "InvoiceLine",
    "Lead",
    "Link",
    "Me",
    "Money",
    "Order",
    "Payment",
    "Person",
    "Product",
    "Quote",
    "SharedInvoice",
    "UpgradeOutcome",
    "PROFILE_FIELDS",
]
