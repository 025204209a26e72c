"""The public catalog: products with their list price, and the estimate of a quantity."""

from __future__ import annotations

from dataclasses import dataclass

from ._json import Json, _bool, _int, _obj, _oint, _oobj, _str
from .values import Money

__all__ = ["Product", "Estimate"]


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    kind: str  # edition, addon, product
    unit: str
    description: str
    max_quantity: int | None
    available_on_essentials: bool
    price: Money | None  # per unit per month in the requested currency; None: not sold in it

    @classmethod
    def from_json(cls, d: Json) -> Product:
        return cls(
            _str(d, "code"),
            _str(d, "name"),
            _str(d, "kind"),
            _str(d, "unit"),
            _str(d, "description"),
            _oint(d, "max_quantity"),
            _bool(d, "available_on_essentials"),
            _oobj(d, "price", Money.from_json),
        )


@dataclass(frozen=True)
class Estimate:
    product: Product
    quantity: int
    unit_price: Money
    monthly: Money
    annual: Money

    @classmethod
    def from_json(cls, d: Json) -> Estimate:
        return cls(
            _obj(d, "product", Product.from_json),
            _int(d, "quantity"),
            _obj(d, "unit_price", Money.from_json),
            _obj(d, "monthly", Money.from_json),
            _obj(d, "annual", Money.from_json),
        )
