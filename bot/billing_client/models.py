"""What the billing API returns, as frozen dataclasses (no pydantic: this module is shared by
the app environment, pydantic 2, and the Rasa environment, pydantic 1).

Each type has a ``from_json`` that reads the API's JSON explicitly: money is ``Money`` (int minor
units, never float), dates are ``datetime.date``, timestamps are timezone-aware ``datetime``.
A malformed answer raises ``ValueError``/``TypeError``/``KeyError``; the client turns that into
``Unavailable(code="bad_response")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ._json import (
    Json,
    _bool,
    _date,
    _datetime,
    _int,
    _list,
    _obj,
    _odate,
    _odatetime,
    _oint,
    _oobj,
    _ostr,
    _str,
)

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

# -- types ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    """An amount in minor units (cents) of ``currency``; ``formatted`` is the backend's rendering."""

    amount: int
    currency: str
    formatted: str

    def __str__(self) -> str:
        return self.formatted

    @classmethod
    def from_json(cls, d: Json) -> Money:
        return cls(_int(d, "amount"), _str(d, "currency"), _str(d, "formatted"))


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    @classmethod
    def from_json(cls, d: Json) -> Person:
        return cls(_str(d, "name"), _str(d, "email"))


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    kind: str  # edition, addon, product
    unit: str
    description: str
    max_quantity: int | None
    available_on_essentials: bool
    price: Money | None  # per unit per month in the requested currency; None: not sold in it

    @classmethod
    def from_json(cls, d: Json) -> Product:
        return cls(
            _str(d, "code"),
            _str(d, "name"),
            _str(d, "kind"),
            _str(d, "unit"),
            _str(d, "description"),
            _oint(d, "max_quantity"),
            _bool(d, "available_on_essentials"),
            _oobj(d, "price", Money.from_json),
        )


@dataclass(frozen=True)
class Estimate:
    product: Product
    quantity: int
    unit_price: Money
    monthly: Money
    annual: Money

    @classmethod
    def from_json(cls, d: Json) -> Estimate:
        return cls(
            _obj(d, "product", Product.from_json),
            _int(d, "quantity"),
            _obj(d, "unit_price", Money.from_json),
            _obj(d, "monthly", Money.from_json),
            _obj(d, "annual", Money.from_json),
        )


@dataclass(frozen=True)
class ContractLine:
    product: str
    product_name: str
    kind: str
    unit: str
    quantity: int
    unit_price: Money
    monthly: Money

    @classmethod
    def from_json(cls, d: Json) -> ContractLine:
        return cls(
            _str(d, "product"),
            _str(d, "product_name"),
            _str(d, "kind"),
            _str(d, "unit"),
            _int(d, "quantity"),
            _obj(d, "unit_price", Money.from_json),
            _obj(d, "monthly", Money.from_json),
        )


@dataclass(frozen=True)
class Contract:
    number: str
    term_start: date
    term_end: date
    billing_period_months: int
    status: str
    lines: tuple[ContractLine, ...]
    monthly_total: Money

    @classmethod
    def from_json(cls, d: Json) -> Contract:
        return cls(
            _str(d, "number"),
            _date(d, "term_start"),
            _date(d, "term_end"),
            _int(d, "billing_period_months"),
            _str(d, "status"),
            _list(d, "lines", ContractLine.from_json),
            _obj(d, "monthly_total", Money.from_json),
        )


@dataclass(frozen=True)
class Me:
    """The acting user and their org. ``contract`` is only given to Manage Billing holders."""

    email: str
    name: str
    org: str
    currency: str
    timezone: str
    edition: str | None
    manage_billing: bool
    is_system_admin: bool
    admins: tuple[Person, ...]
    contract: Contract | None

    @classmethod
    def from_json(cls, d: Json) -> Me:
        return cls(
            _str(d, "email"),
            _str(d, "name"),
            _str(d, "org"),
            _str(d, "currency"),
            _str(d, "timezone"),
            _ostr(d, "edition"),
            _bool(d, "manage_billing"),
            _bool(d, "is_system_admin"),
            _list(d, "admins", Person.from_json),
            _oobj(d, "contract", Contract.from_json),
        )


@dataclass(frozen=True)
class Contact:
    """The acting user's own contact details (phone in E.164)."""

    email: str
    name: str
    phone: str | None

    @classmethod
    def from_json(cls, d: Json) -> Contact:
        return cls(_str(d, "email"), _str(d, "name"), _ostr(d, "phone"))


@dataclass(frozen=True)
class Quote:
    """A price promise until ``expires_at``. Place it with ``place_order(quote)``."""

    number: str
    kind: str  # add_licenses, add_product, change_edition
    product: str
    product_name: str
    from_product: str | None
    quantity: int
    unit_price: Money
    prorated_amount: Money
    effective_date: date
    period_end: date
    remaining_days: int
    period_days: int
    new_quantity: int
    new_monthly_total: Money
    expires_at: datetime
    status: str  # open, expired, ordered
    idempotency_key: str

    @classmethod
    def from_json(cls, d: Json) -> Quote:
        money = Money.from_json
        return cls(
            _str(d, "number"),
            _str(d, "kind"),
            _str(d, "product"),
            _str(d, "product_name"),
            _ostr(d, "from_product"),
            _int(d, "quantity"),
            _obj(d, "unit_price", money),
            _obj(d, "prorated_amount", money),
            _date(d, "effective_date"),
            _date(d, "period_end"),
            _int(d, "remaining_days"),
            _int(d, "period_days"),
            _int(d, "new_quantity"),
            _obj(d, "new_monthly_total", money),
            _datetime(d, "expires_at"),
            _str(d, "status"),
            _str(d, "idempotency_key"),
        )


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: int
    unit_price: Money
    period_start: date | None
    period_end: date | None
    amount: Money

    @classmethod
    def from_json(cls, d: Json) -> InvoiceLine:
        return cls(
            _str(d, "description"),
            _int(d, "quantity"),
            _obj(d, "unit_price", Money.from_json),
            _odate(d, "period_start"),
            _odate(d, "period_end"),
            _obj(d, "amount", Money.from_json),
        )


@dataclass(frozen=True)
class Invoice:
    number: str
    issue_date: date
    due_date: date
    status: str  # open, paid, void
    overdue: bool
    subtotal: Money
    tax: Money
    total: Money
    paid_at: datetime | None
    lines: tuple[InvoiceLine, ...]

    @classmethod
    def from_json(cls, d: Json) -> Invoice:
        money = Money.from_json
        return cls(
            _str(d, "number"),
            _date(d, "issue_date"),
            _date(d, "due_date"),
            _str(d, "status"),
            _bool(d, "overdue"),
            _obj(d, "subtotal", money),
            _obj(d, "tax", money),
            _obj(d, "total", money),
            _odatetime(d, "paid_at"),
            _list(d, "lines", InvoiceLine.from_json),
        )


@dataclass(frozen=True)
class Order:
    """A placed order. ``created`` is False when this is the order an earlier request (same
    idempotency key or same quote) placed: it was applied once, not again."""

    number: str
    quote: Quote
    placed_at: datetime
    resulting_quantity: int
    invoice: Invoice | None
    created: bool = True

    @classmethod
    def from_json(cls, d: Json, created: bool = True) -> Order:
        return cls(
            _str(d, "number"),
            _obj(d, "quote", Quote.from_json),
            _datetime(d, "placed_at"),
            _int(d, "resulting_quantity"),
            _oobj(d, "invoice", Invoice.from_json),
            created,
        )


@dataclass(frozen=True)
class Link:
    """A signed, short-lived URL (invoice PDF, card form)."""

    url: str
    expires_at: datetime

    @classmethod
    def from_json(cls, d: Json) -> Link:
        return cls(_str(d, "url"), _datetime(d, "expires_at"))


@dataclass(frozen=True)
class Balance:
    open_total: Money
    overdue_total: Money
    next_due_date: date | None
    open_invoices: tuple[Invoice, ...]

    @classmethod
    def from_json(cls, d: Json) -> Balance:
        return cls(
            _obj(d, "open_total", Money.from_json),
            _obj(d, "overdue_total", Money.from_json),
            _odate(d, "next_due_date"),
            _list(d, "open_invoices", Invoice.from_json),
        )


@dataclass(frozen=True)
class Payment:
    """A payment. ``created`` is False when an earlier request with the same key made it."""

    number: str
    invoice: str
    amount: Money
    status: str
    card: str  # "visa 4242"
    created_at: datetime
    created: bool = True

    @classmethod
    def from_json(cls, d: Json, created: bool = True) -> Payment:
        return cls(
            _str(d, "number"),
            _str(d, "invoice"),
            _obj(d, "amount", Money.from_json),
            _str(d, "status"),
            _str(d, "card"),
            _datetime(d, "created_at"),
            created,
        )


@dataclass(frozen=True)
class Card:
    """The card on file, as the provider's token describes it (never a full number)."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @classmethod
    def from_json(cls, d: Json) -> Card:
        return cls(_str(d, "brand"), _str(d, "last4"), _int(d, "exp_month"), _int(d, "exp_year"))


PROFILE_FIELDS = (
    "contact_name",
    "contact_email",
    "contact_phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
)


@dataclass(frozen=True)
class BillingProfile:
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    @classmethod
    def from_json(cls, d: Json) -> BillingProfile:
        return cls(**{name: _ostr(d, name) for name in PROFILE_FIELDS})


@dataclass(frozen=True)
class Case:
    number: str
    subject: str
    description: str
    priority: str
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, d: Json) -> Case:
        return cls(
            _str(d, "number"),
            _str(d, "subject"),
            _str(d, "description"),
            _str(d, "priority"),
            _str(d, "status"),
            _datetime(d, "created_at"),
            _datetime(d, "updated_at"),
        )


@dataclass(frozen=True)
class Lead:
    """An anonymous visitor's details, for a handoff (customers are known by their identity)."""

    name: str
    email: str
    company: str | None = None
    phone: str | None = None

    def to_json(self) -> Json:
        return {"name": self.name, "email": self.email, "company": self.company, "phone": self.phone}


@dataclass(frozen=True)
class Handoff:
    number: str
    queue: str  # sales, support
    reason: str
    status: str
    org_id: int | None
    edition: str | None
    lead_name: str | None
    lead_email: str | None
    lead_company: str | None
    lead_phone: str | None
    channel: str
    conversation_id: str | None
    created_at: datetime

    @classmethod
    def from_json(cls, d: Json) -> Handoff:
        return cls(
            _str(d, "number"),
            _str(d, "queue"),
            _str(d, "reason"),
            _str(d, "status"),
            _oint(d, "org_id"),
            _ostr(d, "edition"),
            _ostr(d, "lead_name"),
            _ostr(d, "lead_email"),
            _ostr(d, "lead_company"),
            _ostr(d, "lead_phone"),
            _str(d, "channel"),
            _ostr(d, "conversation_id"),
            _datetime(d, "created_at"),
        )


@dataclass(frozen=True)
class UpgradeOutcome:
    """An edition upgrade gives a quote to confirm, or (from Essentials) a sales handoff."""

    outcome: str  # "quote" or "handoff"
    quote: Quote | None = None
    handoff: Handoff | None = None

    @classmethod
    def from_json(cls, d: Json) -> UpgradeOutcome:
        outcome = _str(d, "outcome")
        result = cls(outcome, _oobj(d, "quote", Quote.from_json), _oobj(d, "handoff", Handoff.from_json))
        if (outcome == "quote") != (result.quote is not None) or (outcome == "handoff") != (result.handoff is not None):
            raise ValueError(f"upgrade outcome {outcome!r} without its object")
        return result


@dataclass(frozen=True)
class Callback:
    number: str
    queue: str
    name: str
    phone: str
    window_start: datetime
    window_end: datetime
    timezone: str
    status: str

    @classmethod
    def from_json(cls, d: Json) -> Callback:
        return cls(
            _str(d, "number"),
            _str(d, "queue"),
            _str(d, "name"),
            _str(d, "phone"),
            _datetime(d, "window_start"),
            _datetime(d, "window_end"),
            _str(d, "timezone"),
            _str(d, "status"),
        )


@dataclass(frozen=True)
class SharedInvoice:
    invoice: str
    sent_to: tuple[str, ...]

    @classmethod
    def from_json(cls, d: Json) -> SharedInvoice:
        sent = d["sent_to"]
        if not isinstance(sent, list) or not all(isinstance(x, str) for x in sent):
            raise TypeError("sent_to: expected a list of strings")
        return cls(_str(d, "invoice"), tuple(sent))
