"""Database tables (SQLAlchemy 2 declarative; what they are built on is in orm_base.py). Money
columns are integer minor units."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Re-exported: migrations, numbering and tests import the base from here, beside the tables.
from .orm_base import STAMP as STAMP
from .orm_base import Base as Base
from .orm_base import NumberedById as NumberedById
from .orm_base import UTCDateTime as UTCDateTime
from .orm_base import stamped as stamped


class Counter(Base):
    """Gap-free document numbers (INV-1042), one row per series."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    nonprofit: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = stamped()

    users: Mapped[list[User]] = relationship(back_populates="org", order_by="User.id")
    slack_workspaces: Mapped[list[SlackWorkspace]] = relationship(back_populates="org", order_by="SlackWorkspace.id")
    contracts: Mapped[list[Contract]] = relationship(back_populates="org", order_by="Contract.id")
    billing_profile: Mapped[BillingProfile | None] = relationship(back_populates="org")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    is_system_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    manage_billing: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    org: Mapped[Org] = relationship(back_populates="users")


# The acting user is looked up by lower(email) on every request (services/access.py find_user):
# without this index PostgreSQL reads every user of every organisation to find one.
Index("ix_users_email_lower", func.lower(User.email))


class SlackWorkspace(Base):
    """A Slack workspace (team id) linked to an org: a Slack identity acts for its org only from
    a workspace linked to that org. Linked by the OAuth install of a system administrator, or by
    ``python -m bot.billing.slack_link``."""

    __tablename__ = "slack_workspaces"
    __table_args__ = (UniqueConstraint("org_id", "team_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    linked_by: Mapped[str] = mapped_column(String(254))  # the admin's email, or "cli", "seed"
    linked_at: Mapped[datetime] = stamped()

    org: Mapped[Org] = relationship(back_populates="slack_workspaces")


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # edition | addon | product
    unit: Mapped[str] = mapped_column(String(32), default="user")
    description: Mapped[str] = mapped_column(Text, default="")
    rank: Mapped[int] = mapped_column(Integer, default=0)  # editions: higher is bigger
    max_quantity: Mapped[int | None] = mapped_column(Integer)  # e.g. Essentials: 10 users
    essentials_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    prices: Mapped[list[Price]] = relationship(back_populates="product", order_by="Price.currency")


class Price(Base):
    """List price per unit per month."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("product_id", "currency"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    currency: Mapped[str] = mapped_column(String(3))
    unit_amount: Mapped[int] = mapped_column(BigInteger)

    product: Mapped[Product] = relationship(back_populates="prices")


class Contract(NumberedById, Base):
    __tablename__ = "contracts"
    PREFIX, OFFSET = "C-", 100
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    billing_period_months: Mapped[int] = mapped_column(Integer, default=12)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    currency: Mapped[str] = mapped_column(String(3))

    org: Mapped[Org] = relationship(back_populates="contracts")
    lines: Mapped[list[SubscriptionLine]] = relationship(back_populates="contract", order_by="SubscriptionLine.id")


class SubscriptionLine(Base):
    __tablename__ = "subscription_lines"
    __table_args__ = (UniqueConstraint("contract_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)  # per unit per month, fixed at purchase

    contract: Mapped[Contract] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class Quote(NumberedById, Base):
    __tablename__ = "quotes"
    PREFIX, OFFSET = "Q-", 5000
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    kind: Mapped[str] = mapped_column(String(24))  # add_licenses | add_product | change_edition
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    from_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    effective_date: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    remaining_days: Mapped[int] = mapped_column(Integer)
    period_days: Mapped[int] = mapped_column(Integer)
    prorated_amount: Mapped[int] = mapped_column(BigInteger)
    new_quantity: Mapped[int] = mapped_column(Integer)
    new_monthly_total: Mapped[int] = mapped_column(BigInteger)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = stamped()
    expires_at: Mapped[datetime] = mapped_column()
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)

    product: Mapped[Product] = relationship(foreign_keys=[product_id])
    from_product: Mapped[Product | None] = relationship(foreign_keys=[from_product_id])
    order: Mapped[Order | None] = relationship(back_populates="quote")


class Order(NumberedById, Base):
    __tablename__ = "orders"
    PREFIX, OFFSET = "ORD-", 10000
    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = stamped()
    channel: Mapped[str] = mapped_column(String(16), default="api")
    resulting_quantity: Mapped[int] = mapped_column(Integer)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))

    quote: Mapped[Quote] = relationship(back_populates="order")
    invoice: Mapped[Invoice | None] = relationship()


class Invoice(Base):
    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    issue_date: Mapped[date] = mapped_column(Date, index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | paid | void
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None] = mapped_column()

    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", order_by="InvoiceLine.id")
    org: Mapped[Org] = relationship()

    def is_overdue(self, today: date) -> bool:
        """Open past its due date (due on the 1st: overdue from the 2nd)."""
        return self.status == "open" and self.due_date < today


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class PaymentMethod(Base):
    """A card as the provider's token. Never a card number: brand, last 4 and expiry only."""

    __tablename__ = "payment_methods"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = stamped()


class Payment(NumberedById, Base):
    __tablename__ = "payments"
    PREFIX, OFFSET = "PAY-", 7000
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    payment_method_id: Mapped[int] = mapped_column(ForeignKey("payment_methods.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))  # succeeded
    provider_ref: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = stamped()

    payment_method: Mapped[PaymentMethod] = relationship()


class BillingProfile(Base):
    """The org's billing contact and billing address."""

    __tablename__ = "billing_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), unique=True)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")

    org: Mapped[Org] = relationship(back_populates="billing_profile")


class SupportCase(NumberedById, Base):
    __tablename__ = "support_cases"
    PREFIX, OFFSET = "CS-", 2000
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="new")
    channel: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime] = stamped()
    updated_at: Mapped[datetime] = stamped()


class Handoff(NumberedById, Base):
    """A request for a person: a sales lead or a support escalation."""

    __tablename__ = "handoffs"
    PREFIX, OFFSET = "HO-", 3000
    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(16))  # sales | support
    reason: Mapped[str] = mapped_column(String(200))
    intent: Mapped[str | None] = mapped_column(String(64))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lead_name: Mapped[str | None] = mapped_column(String(200))
    lead_email: Mapped[str | None] = mapped_column(String(254))
    lead_company: Mapped[str | None] = mapped_column(String(200))
    lead_phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    edition: Mapped[str | None] = mapped_column(String(64))
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    page_url: Mapped[str | None] = mapped_column(String(2000))
    channel: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | claimed | closed
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = stamped()


class CallbackRequest(NumberedById, Base):
    __tablename__ = "callback_requests"
    PREFIX, OFFSET = "CB-", 4000
    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(16))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))  # E.164
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = stamped()


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = stamped(index=True)
    actor: Mapped[str] = mapped_column(String(254))  # user email, or "service:<caller>"
    caller: Mapped[str | None] = mapped_column(String(32))  # the service that acted: actions, gateway, cli...
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
