"""Changes to a subscription: the ``Quote`` (a price promise), the ``Order`` that applies it once,
and an edition upgrade's outcome (a quote, or a sales handoff from Essentials)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ._json import Json, _date, _datetime, _int, _obj, _oobj, _ostr, _str
from .invoices import Invoice
from .people import Handoff
from .values import Money

__all__ = ["Quote", "Order", "UpgradeOutcome"]


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
