"""The billing state a dialogue may change, snapshotted before and after a script, and the check of
the difference against the script's ``outcome``.

A snapshot is plain data (read straight from the billing database and the outbox folder), so a
diff is a dictionary comparison. Quotes and the audit log are left out on purpose: a quote is an
offer that changes nothing, and the audit log records reads too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import (
    BillingProfile,
    CallbackRequest,
    Contract,
    Handoff,
    Invoice,
    Order,
    Org,
    Payment,
    PaymentMethod,
    Product,
    SubscriptionLine,
    SupportCase,
    User,
)

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


@dataclass
class Snapshot:
    licenses: dict[str, int]  # "Acme Corp/enterprise" -> quantity
    orders: int
    invoices: dict[str, str]  # number -> status
    payments: int
    payment_methods: int
    cases: list[dict[str, Any]]
    handoffs: list[dict[str, Any]]
    callbacks: list[dict[str, Any]]
    billing: dict[str, dict[str, str]]  # org name -> billing profile fields
    users: dict[str, dict[str, Any]]  # email -> name, phone, permissions
    emails: list[str] = field(default_factory=list)  # outbox file names


def snapshot(db: Database, outbox: Path) -> Snapshot:
    with db.session() as s:
        lines = s.execute(
            select(Org.name, Product.code, SubscriptionLine.quantity)
            .join(Contract, SubscriptionLine.contract_id == Contract.id)
            .join(Org, Contract.org_id == Org.id)
            .join(Product, SubscriptionLine.product_id == Product.id)
        ).all()
        orgs = dict(s.execute(select(Org.id, Org.name)).all())
        return Snapshot(
            licenses={f"{org}/{code}": qty for org, code, qty in lines},
            orders=len(s.scalars(select(Order.id)).all()),
            invoices=dict(s.execute(select(Invoice.number, Invoice.status)).all()),
            payments=len(s.scalars(select(Payment.id)).all()),
            payment_methods=len(s.scalars(select(PaymentMethod.id)).all()),
            cases=[
                {"number": c.number, "subject": c.subject, "description": c.description}
                for c in s.scalars(select(SupportCase).order_by(SupportCase.id))
            ],
            handoffs=[
                {
                    "number": h.number,
                    "queue": h.queue,
                    "reason": h.reason,
                    "lead_name": h.lead_name,
                    "lead_email": h.lead_email,
                    "lead_company": h.lead_company,
                    "lead_phone": h.lead_phone,
                }
                for h in s.scalars(select(Handoff).order_by(Handoff.id))
            ],
            callbacks=[
                {
                    "number": c.number,
                    "queue": c.queue,
                    "phone": c.phone,
                    "timezone": c.timezone,
                    "start": _aware(c.window_start),
                    "end": _aware(c.window_end),
                }
                for c in s.scalars(select(CallbackRequest).order_by(CallbackRequest.id))
            ],
            billing={
                orgs[p.org_id]: {f: getattr(p, f) or "" for f in PROFILE_FIELDS}
                for p in s.scalars(select(BillingProfile))
            },
            users={
                u.email: {
                    "name": u.name,
                    "phone": u.phone,
                    "manage_billing": u.manage_billing,
                    "is_system_admin": u.is_system_admin,
                    "active": u.active,
                }
                for u in s.scalars(select(User))
            },
            emails=sorted(p.name for p in outbox.glob("*.eml")) if outbox.is_dir() else [],
        )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def changes(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """What changed, in the outcome's own terms (deltas for counts, new rows for records)."""
    diff: dict[str, Any] = {}
    licenses = {k: after.licenses.get(k, 0) - before.licenses.get(k, 0) for k in {*before.licenses, *after.licenses}}
    if any(licenses.values()):
        diff["licenses"] = {k: v for k, v in sorted(licenses.items()) if v}
    for name in ("orders", "payments", "payment_methods"):
        if getattr(after, name) != getattr(before, name):
            diff[name] = getattr(after, name) - getattr(before, name)
    new_invoices = [n for n in after.invoices if n not in before.invoices]
    if new_invoices:
        diff["invoices"] = len(new_invoices)
    paid = sorted(n for n, st in after.invoices.items() if st == "paid" and before.invoices.get(n, "paid") != "paid")
    paid = [n for n in paid if n in before.invoices]  # an order's own new invoice is part of the order
    if paid:
        diff["paid"] = paid
    status = sorted(n for n, st in before.invoices.items() if after.invoices.get(n) not in (st, "paid"))
    if status:
        diff["invoice_status"] = status
    for name in ("cases", "handoffs", "callbacks"):
        known = {r["number"] for r in getattr(before, name)}
        new = [r for r in getattr(after, name) if r["number"] not in known]
        if new:
            diff[name] = new
    billing = {
        org: {f: v for f, v in fields.items() if before.billing.get(org, {}).get(f) != v}
        for org, fields in after.billing.items()
    }
    if any(billing.values()):
        diff["billing"] = {org: f for org, f in billing.items() if f}
    users = {
        email: {f: v for f, v in fields.items() if before.users.get(email, {}).get(f) != v}
        for email, fields in after.users.items()
    }
    if any(users.values()):
        diff["contacts"] = {email: f for email, f in users.items() if f}
    emails = [e for e in after.emails if e not in before.emails]
    if emails:
        diff["emails"] = emails
    return diff
