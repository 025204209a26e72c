"""Demo data: the catalog and two customers, loaded from the JSON files beside this module.

Dates are relative to the day of seeding (the session's clock, bot/billing/clock.py, so a pinned
clock seeds the same data whatever day it runs), so the demo always has a current contract, a few
months of invoices, one overdue and one coming due.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.orm import (
    BillingProfile,
    Contract,
    Invoice,
    Org,
    Payment,
    PaymentMethod,
    Price,
    Product,
    SlackWorkspace,
    SubscriptionLine,
    User,
)
from ..clock import clock_of
from ..domain.money import Money
from ..domain.periods import add_months, period_containing
from ..domain.proration import prorate
from ..payments.sandbox import get_provider
from ..services.invoices import InvoiceItem, issue_invoice
from ..services.numbering import ensure_counters

HERE = Path(__file__).resolve().parent


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text())
    return data


def is_seeded(session: Session) -> bool:
    return session.scalar(select(Org.id).limit(1)) is not None


def seed(session: Session, today: date | None = None) -> None:
    """Load the catalog and the demo customers into an empty database."""
    today = today or clock_of(session).today()
    ensure_counters(session)
    products = seed_catalog(session)
    for spec in load("demo.json")["orgs"]:
        seed_org(session, spec, products, today)
    session.flush()


def seed_catalog(session: Session) -> dict[str, Product]:
    products = {}
    for spec in load("catalog.json")["products"]:
        prices = spec.pop("prices")
        product = Product(**spec)
        product.prices = [Price(currency=c, unit_amount=a) for c, a in prices.items()]
        session.add(product)
        products[product.code] = product
    session.flush()
    return products


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=timezone.utc)


def seed_org(session: Session, spec: dict[str, Any], products: dict[str, Product], today: date) -> Org:
    org = Org(name=spec["name"], currency=spec["currency"], timezone=spec["timezone"])
    org.users = [User(**u) for u in spec["users"]]
    org.billing_profile = BillingProfile(**spec["billing_profile"])
    org.slack_workspaces = [SlackWorkspace(team_id=team, linked_by="seed") for team in spec.get("slack_teams", [])]
    session.add(org)
    session.flush()

    card_spec = spec["card"]
    card = get_provider().tokenize(
        card_spec["number"], card_spec["exp_month"], today.year + card_spec["exp_years_ahead"], "123", today=today
    )
    method = PaymentMethod(
        org_id=org.id,
        token=card.token,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=True,
    )
    session.add(method)

    c = spec["contract"]
    start = add_months(today.replace(day=1), -c["term_start_months_ago"])
    contract = Contract(
        org_id=org.id,
        term_start=start,
        term_end=add_months(start, c["term_months"]) - timedelta(days=1),
        billing_period_months=c["billing_period_months"],
        currency=org.currency,
    )
    session.add(contract)
    session.flush()

    # Quantities at term start: the final ones less what the mid-term invoices added.
    added: dict[str, int] = {}
    for inv in spec["invoices"]:
        if "product" in inv:
            added[inv["product"]] = added.get(inv["product"], 0) + inv["quantity"]
    unit = {
        code: Money(next(p.unit_amount for p in products[code].prices if p.currency == org.currency), org.currency)
        for code in c["lines"]
    }
    for code, qty in c["lines"].items():
        session.add(
            SubscriptionLine(
                contract_id=contract.id, product_id=products[code].id, quantity=qty, unit_amount=unit[code].amount
            )
        )

    months = contract.billing_period_months
    start_qty = {code: qty - added.get(code, 0) for code, qty in c["lines"].items()}
    this_period = period_containing(contract.term_start, contract.term_end, months, today)[0]
    for inv in spec["invoices"]:
        if inv.get("at_term_start"):
            issue = contract.term_start
            items = _period_items(contract, products, unit, start_qty, issue)
        elif inv.get("monthly"):
            issue = add_months(this_period, -months * inv["months_ago"])
            items = _period_items(contract, products, unit, c["lines"], issue)
        else:
            issue = today - timedelta(days=inv["days_ago"])
            code, qty = inv["product"], inv["quantity"]
            p_start, p_end = period_containing(contract.term_start, contract.term_end, months, issue)
            pr = prorate(qty, unit[code], period_start=p_start, period_end=p_end, period_months=months, effective=issue)
            items = [
                InvoiceItem(
                    f"{products[code].name} x {qty}, prorated {issue} to {p_end}",
                    products[code].id,
                    qty,
                    unit[code].amount,
                    issue,
                    p_end,
                    pr.amount.amount,
                )
            ]
        invoice = issue_invoice(session, contract, lines=items, now=_at(issue), issue_date=issue)
        if "due_in_days" in inv:
            invoice.due_date = today + timedelta(days=inv["due_in_days"])
        if inv["status"] == "paid":
            _mark_paid(session, invoice, method, org.users[0])
    return org


def _period_items(
    contract: Contract, products: dict[str, Product], unit: dict[str, Money], quantities: dict[str, int], day: date
) -> list[InvoiceItem]:
    """One billing period of every line, as invoiced at the period's start."""
    months = contract.billing_period_months
    start, end = period_containing(contract.term_start, contract.term_end, months, day)
    label = f"{months} month{'s' if months > 1 else ''}"
    return [
        InvoiceItem(
            f"{products[code].name}, {label}",
            products[code].id,
            qty,
            unit[code].amount,
            start,
            end,
            unit[code].times(qty * months).amount,
        )
        for code, qty in quantities.items()
    ]


def _mark_paid(session: Session, invoice: Invoice, method: PaymentMethod, user: User) -> None:
    paid_at = _at(min(invoice.due_date, invoice.issue_date + timedelta(days=7)))
    invoice.status, invoice.paid_at = "paid", paid_at
    session.add(
        Payment(
            invoice_id=invoice.id,
            org_id=invoice.org_id,
            payment_method_id=method.id,
            amount=invoice.total,
            currency=invoice.currency,
            status="succeeded",
            provider_ref=f"seed-{invoice.number}",
            idempotency_key=f"seed-{invoice.number}",
            created_by_id=user.id,
            created_at=paid_at,
        )
    )
