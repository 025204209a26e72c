"""Small readers of database state for assertions."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.billing.adapters.orm import AuditEntry, Contract, Invoice, Order, Org, Product, SubscriptionLine


def quantity(db, org_name: str, product_code: str) -> int | None:
    with db.session() as s:
        return s.scalar(
            select(SubscriptionLine.quantity)
            .join(Contract)
            .join(Org)
            .join(Product, SubscriptionLine.product_id == Product.id)
            .where(Org.name == org_name, Product.code == product_code)
        )


def count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def orders(db) -> int:
    return count(db, Order)


def invoices(db) -> int:
    return count(db, Invoice)


def audit_actions(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
