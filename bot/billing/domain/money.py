"""Money: integer minor units plus an ISO currency code. Never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# Minor units per major unit. Every currency we price in has cents.
MINOR_UNITS = {"USD": 100, "EUR": 100, "GBP": 100, "CAD": 100, "AUD": 100}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


@dataclass(frozen=True, order=True)
class Money:
    amount: int  # minor units (cents)
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unsupported currency {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: int | Fraction) -> Money:
        """Multiply by an exact factor, rounding half up to the minor unit."""
        return Money(round_half_up(Fraction(self.amount) * Fraction(factor)), self.currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def format(self) -> str:
        return format_money(self.amount, self.currency)


def round_half_up(value: Fraction) -> int:
    """Round an exact fraction of minor units to the nearest unit, halves away from zero."""
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount: int, currency: str) -> str:
    """12345, 'USD' -> '$123.45'; negative amounts get a leading minus."""
    units = MINOR_UNITS[currency]
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), units)
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{major:,}.{minor:02d}"
