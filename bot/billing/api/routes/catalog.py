"""Catalog and list prices: public, no user needed (the pricing page and visitors use them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ...services import catalog
from .. import threaded
from ..deps import Db
from ..schemas import EstimateOut, MoneyOut, ProductOut

router = threaded.router(prefix="/v1/catalog", tags=["catalog"])


@router.get("", response_model=list[ProductOut])
def list_catalog(db: Db, currency: str = "USD", kind: str | None = None) -> list[ProductOut]:
    currency = catalog.validate_currency(currency)
    with db.session() as s:
        return [ProductOut.of(p, currency) for p in catalog.list_products(s, kind)]


@router.get("/estimate", response_model=EstimateOut)
def estimate(
    db: Db,
    product: str,
    quantity: Annotated[int, Query(ge=1, le=catalog.MAX_QUANTITY)],
    currency: str = "USD",
) -> EstimateOut:
    """List price for a quantity: 'how much is Enterprise for 40 users?'."""
    with db.session() as s:
        e = catalog.estimate(s, product, quantity, currency)
        return EstimateOut(
            product=ProductOut.of(e.product, e.unit_price.currency),
            quantity=e.quantity,
            unit_price=MoneyOut.of(e.unit_price),
            monthly=MoneyOut.of(e.monthly),
            annual=MoneyOut.of(e.annual),
        )
