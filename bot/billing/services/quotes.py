"""Quotes: the priced proposal every subscription change starts with (quote -> confirm -> order).

A quote is a price promise: until it expires, ordering it charges exactly what it says.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, joinedload

from ..adapters.orm import Contract, Handoff, Org, Product, Quote, SubscriptionLine, User
from ..clock import clock_of
from ..config import get_settings
from ..domain.errors import Conflict, Invalid, NotFound
from ..domain.money import Money
from ..domain.proration import PeriodEnded, prorate
from . import audit
from .access import Actor, billing_user
from .catalog import get_product, list_price, validate_quantity
from .handoffs import open_handoff
from .numbering import by_number
from .subscriptions import active_contract, current_period, edition_line, monthly_total

ESSENTIALS = "essentials"


def org_today(org: Org, now: datetime) -> date:
    return now.astimezone(ZoneInfo(org.timezone)).date()


def _line_for(contract: Contract, product: Product) -> SubscriptionLine | None:
    return next((line for line in contract.lines if line.product_id == product.id), None)


def _is_essentials(contract: Contract) -> bool:
    return edition_line(contract).product.code == ESSENTIALS


def _check_limit(product: Product, new_quantity: int) -> None:
    if product.max_quantity is not None and new_quantity > product.max_quantity:
        raise Conflict(
            f"{product.name} allows at most {product.max_quantity} {product.unit}s; this would make "
            f"{new_quantity}. Upgrading to Professional or Enterprise lifts the limit.",
            code="edition_limit",
            details={"max_quantity": product.max_quantity, "requested_total": new_quantity},
        )


def _make_quote(
    session: Session,
    actor: Actor,
    user: User,
    contract: Contract,
    *,
    kind: str,
    product: Product,
    quantity: int,
    unit_price: Money,
    charge_per_unit: Money,
    new_quantity: int,
    new_monthly_total: Money,
    now: datetime,
    from_product: Product | None = None,
) -> Quote:
    today = org_today(contract.org, now)
    start, end = current_period(contract, today)
    try:
        proration = prorate(
            quantity,
            charge_per_unit,
            period_start=start,
            period_end=end,
            period_months=contract.billing_period_months,
            effective=today,
        )
    except PeriodEnded as exc:
        raise Conflict(f"Your contract has ended ({exc}); it needs renewing first.", code="contract_ended") from exc
    quote = Quote(
        org_id=contract.org_id,
        contract_id=contract.id,
        kind=kind,
        product_id=product.id,
        from_product_id=from_product.id if from_product else None,
        quantity=quantity,
        unit_amount=unit_price.amount,
        currency=contract.currency,
        effective_date=proration.effective,
        period_end=end,
        remaining_days=proration.remaining_days,
        period_days=proration.period_days,
        prorated_amount=proration.amount.amount,
        new_quantity=new_quantity,
        new_monthly_total=new_monthly_total.amount,
        created_by_id=user.id,
        created_at=now,
        expires_at=now + timedelta(minutes=get_settings().quote_ttl_minutes),
        idempotency_key=f"order-{secrets.token_urlsafe(18)}",
        # What the answer shows, known already: without them, each is read back from the database.
        product=product,
        from_product=from_product,
        order=None,  # a new quote has no order yet
    )
    session.add(quote)
    session.flush()
    audit.record(
        session,
        actor,
        action="quote.create",
        entity="quote",
        entity_id=quote.number,
        org_id=contract.org_id,
        after=quote_facts(quote),
    )
    return quote


def quote_add_licenses(
    session: Session,
    actor: Actor,
    quantity: int,
    product_code: str | None = None,
    *,
    now: datetime | None = None,
) -> Quote:
    """More units of something the contract already has. No product: the only per-user line."""
    now = now or clock_of(session).now()
    user = billing_user(session, actor)
    validate_quantity(quantity)
    contract = active_contract(session, user.org_id)
    if product_code:
        # A product the contract has is loaded with it already; only another one is looked up (and
        # refused below, or as unknown).
        code = product_code.strip().lower()
        line = next((x for x in contract.lines if x.product.code == code and x.product.active), None)
        product = line.product if line is not None else get_product(session, product_code)
        if line is None:
            raise Conflict(
                f"You don't have {product.name} yet. I can quote adding it as a new product instead.",
                code="not_subscribed",
                details={"product": product.code},
            )
    else:
        seat_lines = [line for line in contract.lines if line.product.unit == "user"]
        if len(seat_lines) != 1:
            raise Invalid(
                "Which product should the licenses be for?",
                code="ambiguous_product",
                fields={"product": "choose one of: " + ", ".join(line.product.code for line in seat_lines)},
            )
        line = seat_lines[0]
        product = line.product
    new_quantity = line.quantity + quantity
    _check_limit(product, new_quantity)
    unit = Money(line.unit_amount, contract.currency)
    return _make_quote(
        session,
        actor,
        user,
        contract,
        kind="add_licenses",
        product=product,
        quantity=quantity,
        unit_price=unit,
        charge_per_unit=unit,
        new_quantity=new_quantity,
        new_monthly_total=monthly_total(contract) + unit.times(quantity),
        now=now,
    )


def quote_add_product(
    session: Session, actor: Actor, product_code: str, quantity: int, *, now: datetime | None = None
) -> Quote:
    """A product or add-on the contract does not have yet, at today's list price."""
    now = now or clock_of(session).now()
    user = billing_user(session, actor)
    validate_quantity(quantity)
    contract = active_contract(session, user.org_id)
    product = get_product(session, product_code)
    if product.kind == "edition":
        raise Conflict("Editions are changed with an upgrade, not bought as a product.", code="use_upgrade")
    if _line_for(contract, product) is not None:
        raise Conflict(
            f"You already have {product.name}; I can add more licenses to it instead.",
            code="already_subscribed",
            details={"product": product.code},
        )
    if _is_essentials(contract) and not product.essentials_ok:
        raise Conflict(
            f"{product.name} isn't available on Essentials. Essentials can add Data Storage, File Storage, "
            "Inbox and Dialer; an upgrade to Professional or Enterprise opens the rest.",
            code="not_on_essentials",
        )
    _check_limit(product, quantity)
    unit = list_price(session, product, contract.currency)
    return _make_quote(
        session,
        actor,
        user,
        contract,
        kind="add_product",
        product=product,
        quantity=quantity,
        unit_price=unit,
        charge_per_unit=unit,
        new_quantity=quantity,
        new_monthly_total=monthly_total(contract) + unit.times(quantity),
        now=now,
    )


@dataclass(frozen=True)
class UpgradeOutcome:
    """An upgrade request gives a quote, or (from Essentials) a sales handoff."""

    quote: Quote | None = None
    handoff: Handoff | None = None


def request_upgrade(
    session: Session, actor: Actor, edition_code: str, *, now: datetime | None = None
) -> UpgradeOutcome:
    now = now or clock_of(session).now()
    user = billing_user(session, actor)
    contract = active_contract(session, user.org_id)
    target = get_product(session, edition_code)
    if target.kind != "edition":
        raise Invalid(f"{target.name} is not an edition.", fields={"edition": "not an edition"})
    line = edition_line(contract)
    current = line.product
    if target.id == current.id:
        raise Conflict(f"You're already on {current.name}.", code="same_edition")
    if target.rank < current.rank:
        raise Conflict(
            f"Moving down from {current.name} to {target.name} mid-term goes through your account executive.",
            code="downgrade_needs_sales",
        )
    if current.code == ESSENTIALS:
        handoff = open_handoff(
            session,
            actor,
            queue="sales",
            reason=f"Upgrade request: {current.name} to {target.name}",
            intent="upgrade_edition",
            org_id=user.org_id,
            user=user,
            edition=current.name,
            now=now,
        )
        return UpgradeOutcome(handoff=handoff)
    old_unit = Money(line.unit_amount, contract.currency)
    new_unit = list_price(session, target, contract.currency)
    quote = _make_quote(
        session,
        actor,
        user,
        contract,
        kind="change_edition",
        product=target,
        from_product=current,
        quantity=line.quantity,
        unit_price=new_unit,
        charge_per_unit=new_unit - old_unit,
        new_quantity=line.quantity,
        new_monthly_total=monthly_total(contract) + (new_unit - old_unit).times(line.quantity),
        now=now,
    )
    return UpgradeOutcome(quote=quote)


def get_quote(session: Session, actor: Actor, number: str) -> Quote:
    user = billing_user(session, actor)
    # with what its answer shows (product, order), in the one query
    quote = by_number(
        session, Quote, number, options=(joinedload(Quote.product, innerjoin=True), joinedload(Quote.order))
    )
    if quote is None or quote.org_id != user.org_id:
        raise NotFound(f"There is no quote {number}.", code="unknown_quote")
    return quote


def quote_status(quote: Quote, now: datetime) -> str:
    if quote.order is not None:
        return "ordered"
    return "expired" if now >= quote.expires_at else "open"


def quote_facts(quote: Quote) -> dict[str, Any]:
    """The quote's figures, for the audit log."""
    return {
        "number": quote.number,
        "kind": quote.kind,
        "product_id": quote.product_id,
        "quantity": quote.quantity,
        "unit_amount": quote.unit_amount,
        "currency": quote.currency,
        "prorated_amount": quote.prorated_amount,
        "new_monthly_total": quote.new_monthly_total,
        "expires_at": quote.expires_at.isoformat(),
    }
