"""What the staff console reads from billing (``console:read``, bot/billing/api/callers.py): a
customer's organisation and the orders placed through the assistant. Read-only, for the console's
token only: these routes take no acting user, and the action server's token, which may act as any
customer elsewhere, is refused here too (the console's view across all customers is not a
customer's)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...adapters.orm import AuditEntry, Invoice, Order, Org, Quote
from ...domain.errors import Invalid, NotFound
from ...services.access import find_user
from .. import threaded
from ..callers import CONSOLE_READ, Caller
from ..deps import Db, service_caller

router = threaded.router(prefix="/v1/console", tags=["console"])
MAX_ORDERS = 500  # per answer; the console asks for its index's new orders, a few at a time
ASSISTANT = "actions"  # the caller that places orders for customers (the audit log names it)


async def console_reader(caller: Annotated[Caller, Depends(service_caller)]) -> Caller:
    if CONSOLE_READ not in caller.scopes:  # not ``may``: acting as a customer grants nothing here
        raise caller.refuse(CONSOLE_READ, "these routes are the staff console's only")
    return caller


Console = Annotated[Caller, Depends(console_reader)]


class OrganisationOut(BaseModel):
    id: str
    name: str
    currency: str


class ConsoleOrderOut(BaseModel):
    number: str
    org: str
    org_name: str
    placed_at: datetime
    channel: str
    total: int  # minor units: what was invoiced for it (0 when nothing was due now)
    currency: str


class OrdersOut(BaseModel):
    orders: list[ConsoleOrderOut]


@router.get("/organisations", response_model=OrganisationOut)
def organisation(
    db: Db, _caller: Console, email: Annotated[str, Query(min_length=3, max_length=254)]
) -> OrganisationOut:
    """The organisation of the billing user with this email."""
    with db.session() as s:
        user = find_user(s, email)
        if user is None:
            raise NotFound("No billing user has this email.", code="unknown_customer")
        org = user.org
        return OrganisationOut(id=str(org.id), name=org.name, currency=org.currency)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _by_assistant(s: Session, orders: list[Order]) -> set[str]:
    """The numbers of these orders that the action server placed (its audit entries name them)."""
    if not orders:
        return set()
    entries: Iterable[dict[str, Any] | None] = s.scalars(
        select(AuditEntry.after).where(
            AuditEntry.caller == ASSISTANT,
            AuditEntry.action.like("order.%"),
            AuditEntry.org_id.in_({o.org_id for o in orders}),
        )
    )
    return {str(after["order"]) for after in entries if isinstance(after, dict) and after.get("order")}


@router.get("/orders", response_model=OrdersOut)
def orders(
    db: Db,
    _caller: Console,
    number: Annotated[list[str] | None, Query(max_length=MAX_ORDERS)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> OrdersOut:
    """Orders placed through the assistant: those named (``number=ORD-10001&number=...``), or those
    placed in ``[since, until)``; at most MAX_ORDERS, oldest first."""
    if not number and since is None:
        raise Invalid("Name orders or a period.", fields={"number": "one or more order numbers, or since (and until)"})
    query = select(Order, Quote, Invoice, Org).join(Quote, Order.quote_id == Quote.id).join(Org, Order.org_id == Org.id)
    query = query.outerjoin(Invoice, Order.invoice_id == Invoice.id)
    if number:
        ids = {i for n in number if (i := Order.id_for(n)) is not None}
        query = query.where(Order.id.in_(ids))
    if since is not None:
        query = query.where(Order.placed_at >= _aware(since))
    if until is not None:
        query = query.where(Order.placed_at < _aware(until))
    with db.session() as s:
        rows = s.execute(query.order_by(Order.id).limit(MAX_ORDERS)).all()
        placed = _by_assistant(s, [r[0] for r in rows])
        return OrdersOut(
            orders=[
                ConsoleOrderOut(
                    number=order.number,
                    org=str(org.id),
                    org_name=org.name,
                    placed_at=_aware(order.placed_at),
                    channel=order.channel,
                    total=invoice.total if invoice is not None else 0,
                    currency=invoice.currency if invoice is not None else quote.currency,
                )
                for order, quote, invoice, org in rows
                if order.number in placed
            ]
        )
