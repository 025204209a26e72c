"""Orgs, contracts and subscription lines as the customer sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..adapters.orm import Contract, Org, SubscriptionLine, User
from ..domain.errors import Conflict, NotFound
from ..domain.money import Money
from ..domain.periods import period_containing
from .access import Actor, admins_of, billing_user, member

# A contract's lines with their products: one query for both (products are few), not one each.
LINES_WITH_PRODUCTS = selectinload(Contract.lines).joinedload(SubscriptionLine.product, innerjoin=True)


def active_contract(session: Session, org_id: int, *, lock: bool = False) -> Contract:
    query = (
        select(Contract)
        .where(Contract.org_id == org_id, Contract.status == "active")
        .order_by(Contract.term_start.desc())
        .limit(1)
        .options(LINES_WITH_PRODUCTS)
    )
    if lock:  # and re-read: what this session may hold from before the lock is stale
        query = query.with_for_update().execution_options(populate_existing=True)
    contract = session.scalar(query)
    if contract is None:
        raise NotFound("Your organisation has no active contract.", code="no_contract")
    return contract


def edition_line(contract: Contract) -> SubscriptionLine:
    for line in contract.lines:
        if line.product.kind == "edition":
            return line
    raise Conflict("This contract has no edition.", code="no_edition")


def monthly_total(contract: Contract) -> Money:
    total = Money(0, contract.currency)
    for line in contract.lines:
        total += Money(line.unit_amount, contract.currency).times(line.quantity)
    return total


def current_period(contract: Contract, today: date) -> tuple[date, date]:
    return period_containing(contract.term_start, contract.term_end, contract.billing_period_months, today)


@dataclass(frozen=True)
class OrgSummary:
    org: Org
    user: User
    contract: Contract | None
    admins: list[User]


def org_summary(session: Session, actor: Actor) -> OrgSummary:
    """Any member may see their org's name, edition and admins; lines need Manage Billing."""
    user = member(session, actor)
    org = user.org
    contract = session.scalar(
        select(Contract).where(Contract.org_id == org.id, Contract.status == "active").options(LINES_WITH_PRODUCTS)
    )
    return OrgSummary(org, user, contract, admins_of(session, org.id))


def contracts(session: Session, actor: Actor) -> list[Contract]:
    user = billing_user(session, actor)
    return list(
        session.scalars(
            select(Contract)
            .where(Contract.org_id == user.org_id)
            .options(LINES_WITH_PRODUCTS)
            .order_by(Contract.term_start.desc())
        )
    )
