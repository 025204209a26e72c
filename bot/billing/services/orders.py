"""Orders: a confirmed quote applied to the contract, exactly once.

Exactly once: the order's idempotency key and its quote are both unique, and the contract row is
locked while the change is applied, so a retried request returns the first order and two
different orders on one contract apply one after the other (quantities add up; none is lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..adapters.orm import Contract, Order, Product, Quote, SubscriptionLine
from ..clock import clock_of
from ..domain.errors import Conflict, Invalid, NotFound
from . import audit
from .access import Actor, billing_user
from .invoices import InvoiceItem, issue_invoice
from .numbering import by_number
from .quotes import _check_limit, quote_status
from .subscriptions import active_contract, edition_line


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: this is the order an earlier identical request placed


def _existing(session: Session, idempotency_key: str, quote: Quote) -> Order | None:
    order = session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))
    if order is not None and order.quote_id != quote.id:
        raise Conflict("This idempotency key was already used for another quote.", code="idempotency_key_reused")
    return order or quote.order


def place_order(
    session: Session, actor: Actor, quote_number: str, idempotency_key: str, *, now: datetime | None = None
) -> Placed:
    now = now or clock_of(session).now()
    if not idempotency_key or len(idempotency_key) > 64:
        raise Invalid(
            "An Idempotency-Key of 1 to 64 characters is required.",
            fields={"idempotency_key": "required, at most 64 characters"},
        )
    user = billing_user(session, actor)
    # Lock the contract first: every order on it queues here, then re-reads what it depends on.
    contract = active_contract(session, user.org_id, lock=True)
    quote = by_number(session, Quote, quote_number, options=(joinedload(Quote.order),))  # an order of it: replayed
    if quote is None or quote.org_id != user.org_id:
        raise NotFound(f"There is no quote {quote_number}.", code="unknown_quote")
    existing = _existing(session, idempotency_key, quote)
    if existing is not None:
        return Placed(existing, created=False)
    if quote_status(quote, now) == "expired":
        raise Conflict("This quote has expired; prices are re-quoted so you see today's figures.", code="quote_expired")
    if quote.contract_id != contract.id:
        raise Conflict("This quote was made for an earlier contract.", code="quote_stale")
    before = _snapshot(contract)
    product = quote.product
    monthly_unit_charge = quote.unit_amount  # what one unit adds per month
    if quote.kind == "change_edition":
        monthly_unit_charge -= edition_line(contract).unit_amount
    resulting = _apply(session, quote, contract, product)
    order = Order(
        quote=quote,  # the answer shows the quote: the one loaded here, not read back after it is dropped
        quote_id=quote.id,
        idempotency_key=idempotency_key,
        org_id=user.org_id,
        contract_id=contract.id,
        placed_by_id=user.id,
        placed_at=now,
        channel=actor.channel,
        resulting_quantity=resulting,
    )
    session.add(order)
    session.flush()
    invoice = None
    if quote.prorated_amount > 0:  # last: the invoice counter stays locked until commit
        invoice = issue_invoice(
            session,
            contract,
            now=now,
            lines=[
                InvoiceItem(
                    description=_invoice_text(quote, product),
                    product_id=product.id,
                    quantity=quote.quantity,
                    unit_amount=monthly_unit_charge,
                    period_start=quote.effective_date,
                    period_end=quote.period_end,
                    amount=quote.prorated_amount,
                )
            ],
        )
        order.invoice = invoice
    audit.record(
        session,
        actor,
        action=f"order.{quote.kind}",
        entity="contract",
        entity_id=contract.number,
        org_id=user.org_id,
        before=before,
        after={
            **_snapshot(contract),
            "order": order.number,
            "quote": quote.number,
            "invoice": invoice.number if invoice else None,
        },
    )
    return Placed(order, created=True)


def _apply(session: Session, quote: Quote, contract: Contract, product: Product) -> int:
    lines = {line.product_id: line for line in contract.lines}
    if quote.kind == "add_licenses":
        line = lines.get(product.id)
        if line is None:
            raise Conflict(f"{product.name} is no longer on your contract.", code="quote_stale")
        _check_limit(product, line.quantity + quote.quantity)
        line.quantity += quote.quantity
        return line.quantity
    if quote.kind == "add_product":
        line = lines.get(product.id)
        if line is None:
            contract.lines.append(
                SubscriptionLine(product=product, quantity=quote.quantity, unit_amount=quote.unit_amount)
            )
            return quote.quantity
        _check_limit(product, line.quantity + quote.quantity)
        line.quantity += quote.quantity
        return line.quantity
    if quote.kind == "change_edition":
        line = edition_line(contract)
        if line.product_id != quote.from_product_id:
            raise Conflict("Your edition changed since this quote; please ask again.", code="quote_stale")
        line.product_id, line.unit_amount = product.id, quote.unit_amount
        session.flush()
        session.expire(line, ["product"])
        return line.quantity
    raise Conflict(f"Unknown quote kind {quote.kind}.")


def _invoice_text(quote: Quote, product: Product) -> str:
    period = f"{quote.effective_date.isoformat()} to {quote.period_end.isoformat()}"
    if quote.kind == "change_edition":
        return f"Upgrade to {product.name}, {quote.quantity} users, prorated {period}"
    return f"{product.name} x {quote.quantity}, prorated {period}"


def _snapshot(contract: Contract) -> dict[str, Any]:
    return {
        "lines": {
            line.product.code: {"quantity": line.quantity, "unit_amount": line.unit_amount} for line in contract.lines
        }
    }


def get_order(session: Session, actor: Actor, number: str) -> Order:
    user = billing_user(session, actor)
    order = by_number(session, Order, number)
    if order is None or order.org_id != user.org_id:
        raise NotFound(f"There is no order {number}.", code="unknown_order")
    return order
