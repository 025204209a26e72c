"""The catalog: editions, add-ons and products with list prices. Public: no user needed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload

from ..adapters.orm import Price, Product
from ..domain.errors import Invalid, NotFound
from ..domain.money import MINOR_UNITS, Money

MAX_QUANTITY = 10_000


def validate_quantity(quantity: int, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Invalid("The quantity must be a whole number.", fields={field: "must be a whole number"})
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(
            f"The quantity must be between 1 and {MAX_QUANTITY:,}.",
            fields={field: f"must be between 1 and {MAX_QUANTITY}"},
        )
    return quantity


def validate_currency(currency: str) -> str:
    currency = currency.upper()
    if currency not in MINOR_UNITS:
        raise Invalid(f"We don't price in {currency}.", fields={"currency": "unsupported currency"})
    return currency


def list_products(session: Session, kind: str | None = None) -> list[Product]:
    query = select(Product).where(Product.active.is_(True)).options(selectinload(Product.prices))
    if kind:
        query = query.where(Product.kind == kind)
    kind_order = case({"edition": 0, "addon": 1}, value=Product.kind, else_=2)
    return list(session.scalars(query.order_by(kind_order, Product.rank, Product.name)))


def get_product(session: Session, code: str) -> Product:
    product = session.scalar(select(Product).where(Product.code == code.strip().lower(), Product.active.is_(True)))
    if product is None:
        known = ", ".join(p.code for p in list_products(session))
        raise NotFound(
            f"There is no product called {code!r}.", code="unknown_product", details={"known": known.split(", ")}
        )
    return product


def list_price(session: Session, product: Product, currency: str) -> Money:
    amount = session.scalar(select(Price.unit_amount).where(Price.product_id == product.id, Price.currency == currency))
    if amount is None:
        raise Invalid(f"{product.name} has no price in {currency}.", fields={"currency": "no price"})
    return Money(amount, currency)


@dataclass(frozen=True)
class Estimate:
    product: Product
    quantity: int
    unit_price: Money
    monthly: Money
    annual: Money


def estimate(session: Session, code: str, quantity: int, currency: str = "USD") -> Estimate:
    """List price for a quantity: 'how much is Enterprise for 40 users?'."""
    product = get_product(session, code)
    validate_quantity(quantity)
    currency = validate_currency(currency)
    unit = list_price(session, product, currency)
    monthly = unit.times(quantity)
    return Estimate(product, quantity, unit, monthly, monthly.times(12))
