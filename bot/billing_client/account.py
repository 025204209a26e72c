"""The acting user and their org: who they are (``Me``), the contract and its lines, their own
contact details, the card on file and the billing profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ._json import Json, _bool, _date, _int, _list, _obj, _oobj, _ostr, _str
from .values import Money

__all__ = ["Person", "ContractLine", "Contract", "Me", "Contact", "Card", "PROFILE_FIELDS", "BillingProfile"]


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    @classmethod
    def from_json(cls, d: Json) -> Person:
        return cls(_str(d, "name"), _str(d, "email"))


@dataclass(frozen=True)
class ContractLine:
    product: str
    product_name: str
    kind: str
    unit: str
    quantity: int
    unit_price: Money
    monthly: Money

    @classmethod
    def from_json(cls, d: Json) -> ContractLine:
        return cls(
            _str(d, "product"),
            _str(d, "product_name"),
            _str(d, "kind"),
            _str(d, "unit"),
            _int(d, "quantity"),
            _obj(d, "unit_price", Money.from_json),
            _obj(d, "monthly", Money.from_json),
        )


@dataclass(frozen=True)
class Contract:
    number: str
    term_start: date
    term_end: date
    billing_period_months: int
    status: str
    lines: tuple[ContractLine, ...]
    monthly_total: Money

    @classmethod
    def from_json(cls, d: Json) -> Contract:
        return cls(
            _str(d, "number"),
            _date(d, "term_start"),
            _date(d, "term_end"),
            _int(d, "billing_period_months"),
            _str(d, "status"),
            _list(d, "lines", ContractLine.from_json),
            _obj(d, "monthly_total", Money.from_json),
        )


@dataclass(frozen=True)
class Me:
    """The acting user and their org. ``contract`` is only given to Manage Billing holders."""

    email: str
    name: str
    org: str
    currency: str
    timezone: str
    edition: str | None
    manage_billing: bool
    is_system_admin: bool
    admins: tuple[Person, ...]
    contract: Contract | None

    @classmethod
    def from_json(cls, d: Json) -> Me:
        return cls(
            _str(d, "email"),
            _str(d, "name"),
            _str(d, "org"),
            _str(d, "currency"),
            _str(d, "timezone"),
            _ostr(d, "edition"),
            _bool(d, "manage_billing"),
            _bool(d, "is_system_admin"),
            _list(d, "admins", Person.from_json),
            _oobj(d, "contract", Contract.from_json),
        )


@dataclass(frozen=True)
class Contact:
    """The acting user's own contact details (phone in E.164)."""

    email: str
    name: str
    phone: str | None

    @classmethod
    def from_json(cls, d: Json) -> Contact:
        return cls(_str(d, "email"), _str(d, "name"), _ostr(d, "phone"))


@dataclass(frozen=True)
class Card:
    """The card on file, as the provider's token describes it (never a full number)."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @classmethod
    def from_json(cls, d: Json) -> Card:
        return cls(_str(d, "brand"), _str(d, "last4"), _int(d, "exp_month"), _int(d, "exp_year"))


PROFILE_FIELDS = (
    "contact_name",
    "contact_email",
    "contact_phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
)


@dataclass(frozen=True)
class BillingProfile:
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    @classmethod
    def from_json(cls, d: Json) -> BillingProfile:
        return cls(**{name: _ostr(d, name) for name in PROFILE_FIELDS})
