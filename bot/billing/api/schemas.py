"""The HTTP API's request and response bodies, and how domain objects become them."""

from __future__ import annotations

from datetime import date, datetime
from typing import overload

from pydantic import BaseModel, ConfigDict, Field

from ..adapters.orm import Contract, Handoff, Invoice, Order, Product, Quote, SupportCase
from ..clock import Clock
from ..domain.money import Money, format_money
from ..services.quotes import quote_status


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MoneyOut(Out):
    amount: int = Field(description="minor units (cents)")
    currency: str
    formatted: str

    @overload
    @classmethod
    def of(cls, amount: Money) -> MoneyOut: ...

    @overload
    @classmethod
    def of(cls, amount: int, currency: str) -> MoneyOut: ...

    @classmethod
    def of(cls, amount: int | Money, currency: str | None = None) -> MoneyOut:
        """A ``Money``, or minor units and their currency."""
        minor, code = (amount.amount, amount.currency) if isinstance(amount, Money) else (amount, currency)
        if code is None:
            raise TypeError("an amount in minor units needs its currency")
        return cls(amount=minor, currency=code, formatted=format_money(minor, code))


class PriceOut(Out):
    currency: str
    unit_amount: MoneyOut


class ProductOut(Out):
    code: str
    name: str
    kind: str
    unit: str
    description: str
    max_quantity: int | None
    available_on_essentials: bool
    price: MoneyOut | None = Field(description="per unit per month in the requested currency")

    @classmethod
    def of(cls, p: Product, currency: str) -> ProductOut:
        price = next((x.unit_amount for x in p.prices if x.currency == currency), None)
        return cls(
            code=p.code,
            name=p.name,
            kind=p.kind,
            unit=p.unit,
            description=p.description,
            max_quantity=p.max_quantity,
            available_on_essentials=p.essentials_ok,
            price=MoneyOut.of(price, currency) if price is not None else None,
        )


class EstimateOut(Out):
    product: ProductOut
    quantity: int
    unit_price: MoneyOut
    monthly: MoneyOut
    annual: MoneyOut


class LineOut(Out):
    product: str
    product_name: str
    kind: str
    unit: str
    quantity: int
    unit_price: MoneyOut
    monthly: MoneyOut


class ContractOut(Out):
    number: str
    term_start: date
    term_end: date
    billing_period_months: int
    status: str
    lines: list[LineOut]
    monthly_total: MoneyOut

    @classmethod
    def of(cls, c: Contract) -> ContractOut:
        lines = [
            LineOut(
                product=x.product.code,
                product_name=x.product.name,
                kind=x.product.kind,
                unit=x.product.unit,
                quantity=x.quantity,
                unit_price=MoneyOut.of(x.unit_amount, c.currency),
                monthly=MoneyOut.of(x.unit_amount * x.quantity, c.currency),
            )
            for x in c.lines
        ]
        return cls(
            number=c.number,
            term_start=c.term_start,
            term_end=c.term_end,
            billing_period_months=c.billing_period_months,
            status=c.status,
            lines=lines,
            monthly_total=MoneyOut.of(sum(x.unit_amount * x.quantity for x in c.lines), c.currency),
        )


class PersonOut(Out):
    name: str
    email: str


class MeOut(Out):
    email: str
    name: str
    org: str
    currency: str
    timezone: str
    edition: str | None
    manage_billing: bool
    is_system_admin: bool
    admins: list[PersonOut]
    contract: ContractOut | None = Field(description="only for users with Manage Billing")


class QuoteOut(Out):
    number: str
    kind: str
    product: str
    product_name: str
    from_product: str | None
    quantity: int
    unit_price: MoneyOut
    prorated_amount: MoneyOut
    effective_date: date
    period_end: date
    remaining_days: int
    period_days: int
    new_quantity: int
    new_monthly_total: MoneyOut
    expires_at: datetime
    status: str
    idempotency_key: str = Field(description="send it as the order's Idempotency-Key")

    @classmethod
    def of(cls, q: Quote, clock: Clock) -> QuoteOut:
        """``clock``: the app's (api/deps.py ClockDep), which says whether the quote has expired."""
        return cls(
            number=q.number,
            kind=q.kind,
            product=q.product.code,
            product_name=q.product.name,
            from_product=q.from_product.code if q.from_product else None,
            quantity=q.quantity,
            unit_price=MoneyOut.of(q.unit_amount, q.currency),
            prorated_amount=MoneyOut.of(q.prorated_amount, q.currency),
            effective_date=q.effective_date,
            period_end=q.period_end,
            remaining_days=q.remaining_days,
            period_days=q.period_days,
            new_quantity=q.new_quantity,
            new_monthly_total=MoneyOut.of(q.new_monthly_total, q.currency),
            expires_at=q.expires_at,
            status=quote_status(q, clock.now()),
            idempotency_key=q.idempotency_key,
        )


class InvoiceLineOut(Out):
    description: str
    quantity: int
    unit_price: MoneyOut
    period_start: date | None
    period_end: date | None
    amount: MoneyOut


class InvoiceOut(Out):
    number: str
    issue_date: date
    due_date: date
    status: str
    overdue: bool
    subtotal: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    paid_at: datetime | None
    lines: list[InvoiceLineOut]

    @classmethod
    def of(cls, i: Invoice, clock: Clock) -> InvoiceOut:
        """``overdue``: open and due before the clock's UTC day, as ``status=overdue`` filters."""
        cur = i.currency
        return cls(
            number=i.number,
            issue_date=i.issue_date,
            due_date=i.due_date,
            status=i.status,
            overdue=i.is_overdue(clock.today()),
            subtotal=MoneyOut.of(i.subtotal, cur),
            tax=MoneyOut.of(i.tax, cur),
            total=MoneyOut.of(i.total, cur),
            paid_at=i.paid_at,
            lines=[
                InvoiceLineOut(
                    description=x.description,
                    quantity=x.quantity,
                    unit_price=MoneyOut.of(x.unit_amount, cur),
                    period_start=x.period_start,
                    period_end=x.period_end,
                    amount=MoneyOut.of(x.amount, cur),
                )
                for x in i.lines
            ],
        )


class OrderOut(Out):
    number: str
    quote: QuoteOut
    placed_at: datetime
    resulting_quantity: int
    invoice: InvoiceOut | None

    @classmethod
    def of(cls, o: Order, clock: Clock) -> OrderOut:
        return cls(
            number=o.number,
            quote=QuoteOut.of(o.quote, clock),
            placed_at=o.placed_at,
            resulting_quantity=o.resulting_quantity,
            invoice=InvoiceOut.of(o.invoice, clock) if o.invoice else None,
        )


class LinkOut(Out):
    url: str
    expires_at: datetime


class BalanceOut(Out):
    open_total: MoneyOut
    overdue_total: MoneyOut
    next_due_date: date | None
    open_invoices: list[InvoiceOut]


class PaymentOut(Out):
    number: str
    invoice: str
    amount: MoneyOut
    status: str
    card: str
    created_at: datetime


class CardOut(Out):
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class ProfileFields(BaseModel):
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class CaseOut(Out):
    number: str
    subject: str
    description: str
    priority: str
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: SupportCase) -> CaseOut:
        return cls.model_validate(c)


class HandoffOut(Out):
    number: str
    queue: str
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
    def of(cls, h: Handoff) -> HandoffOut:
        return cls.model_validate(h)


class UpgradeOut(Out):
    outcome: str = Field(description="'quote': confirm it with an order; 'handoff': an account executive will call")
    quote: QuoteOut | None = None
    handoff: HandoffOut | None = None


class CallbackOut(Out):
    number: str
    queue: str
    name: str
    phone: str
    window_start: datetime
    window_end: datetime
    timezone: str
    status: str
