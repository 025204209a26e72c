"""Quotes, upgrade requests and orders: every change is quote -> confirm -> order."""

from __future__ import annotations

from typing import Annotated

from fastapi import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...services import orders, quotes
from ...services.catalog import MAX_QUANTITY
from .. import threaded
from ..deps import ActorDep, ClockDep, Db, IdempotencyKey, keyed_write
from ..schemas import HandoffOut, OrderOut, QuoteOut, UpgradeOut

router = threaded.router(prefix="/v1", tags=["orders"])
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]


class AddLicensesIn(BaseModel):
    quantity: Quantity
    product: str | None = Field(None, description="omit when the contract has a single per-user product")


class AddProductIn(BaseModel):
    product: str
    quantity: Quantity = 1


class UpgradeIn(BaseModel):
    edition: str


class OrderIn(BaseModel):
    quote: str = Field(description="the quote number, e.g. Q-5001")


@router.post("/quotes/add-licenses", response_model=QuoteOut, status_code=201)
def quote_add_licenses(db: Db, clock: ClockDep, actor: ActorDep, body: AddLicensesIn) -> QuoteOut:
    with db.session(write=True) as s:
        return QuoteOut.of(quotes.quote_add_licenses(s, actor, body.quantity, body.product), clock)


@router.post("/quotes/add-product", response_model=QuoteOut, status_code=201)
def quote_add_product(db: Db, clock: ClockDep, actor: ActorDep, body: AddProductIn) -> QuoteOut:
    with db.session(write=True) as s:
        return QuoteOut.of(quotes.quote_add_product(s, actor, body.product, body.quantity), clock)


@router.post("/upgrades", response_model=UpgradeOut, status_code=201)
def request_upgrade(db: Db, clock: ClockDep, actor: ActorDep, body: UpgradeIn) -> UpgradeOut:
    """From Essentials: a sales handoff (an account executive calls). Otherwise: a quote."""
    with db.session(write=True) as s:
        outcome = quotes.request_upgrade(s, actor, body.edition)
        if outcome.handoff is not None:
            return UpgradeOut(outcome="handoff", handoff=HandoffOut.of(outcome.handoff))
        assert outcome.quote is not None  # request_upgrade gives one or the other
        return UpgradeOut(outcome="quote", quote=QuoteOut.of(outcome.quote, clock))


@router.get("/quotes/{number}", response_model=QuoteOut)
def get_quote(db: Db, clock: ClockDep, actor: ActorDep, number: str) -> QuoteOut:
    with db.session() as s:
        return QuoteOut.of(quotes.get_quote(s, actor, number), clock)


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    responses={200: {"description": "the order an earlier request with this key placed"}},
)
def place_order(
    db: Db, clock: ClockDep, actor: ActorDep, body: OrderIn, key: IdempotencyKey, response: Response
) -> OrderOut:
    """Apply a quote. The same Idempotency-Key (or quote) again returns the same order, with 200."""

    def work(s: Session) -> tuple[OrderOut, bool]:
        placed = orders.place_order(s, actor, body.quote, key)
        return OrderOut.of(placed.order, clock), placed.created

    return keyed_write(db, response, work)


@router.get("/orders/{number}", response_model=OrderOut)
def get_order(db: Db, clock: ClockDep, actor: ActorDep, number: str) -> OrderOut:
    with db.session() as s:
        return OrderOut.of(orders.get_order(s, actor, number), clock)
