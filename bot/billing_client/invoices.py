"""Invoices and what is owed: invoices with their lines, the balance, payments, and an invoice
emailed to someone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ._json import Json, _bool, _date, _datetime, _int, _list, _obj, _odate, _odatetime, _str
from .values import Money

__all__ = ["InvoiceLine", "Invoice", "Balance", "Payment", "SharedInvoice"]


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
class SharedInvoice:
    invoice: str
    sent_to: tuple[str, ...]

    @classmethod
    def from_json(cls, d: Json) -> SharedInvoice:
        sent = d["sent_to"]
        if not isinstance(sent, list) or not all(isinstance(x, str) for x in sent):
            raise TypeError("sent_to: expected a list of strings")
        return cls(_str(d, "invoice"), tuple(sent))
