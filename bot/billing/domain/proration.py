"""Proration: what a change made part-way through a billing period costs now.

The rule
--------
Prices are per unit per month. A contract is invoiced one billing period at a time (for the
demo's annual contracts the period is the whole 12-month term, so "the rest of the period" is
"the rest of the term"). A change made on ``effective`` is charged, up front, for the days left
in the current period, counting the effective day and the period's last day:

    remaining_days = (period_end - effective).days + 1
    period_days    = (period_end - period_start).days + 1
    charge         = quantity * unit_price * period_months * remaining_days / period_days

rounded half up to the minor unit once, at the end. So:

* on the first day of the period the charge is the full period's price;
* on the last day it is one day's worth (1/365th of a year, or 1/366th in a leap year);
* a day is always worth the same within one period, whatever the month's length.

A change effective before the period starts is charged for the whole period; a change after
the period has ended is refused (the contract must be renewed first). A negative quantity or
price difference (an edition change credit) follows the same rule with the opposite sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from .money import Money


class PeriodEnded(ValueError):
    """The change falls after the billing period: there is nothing left to prorate."""


@dataclass(frozen=True)
class Proration:
    amount: Money
    remaining_days: int
    period_days: int
    effective: date

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.remaining_days, self.period_days)


def prorate(
    quantity: int,
    unit_price: Money,
    *,
    period_start: date,
    period_end: date,
    period_months: int,
    effective: date,
) -> Proration:
    if period_end < period_start:
        raise ValueError("period ends before it starts")
    if period_months < 1:
        raise ValueError("a billing period lasts at least one month")
    if effective > period_end:
        raise PeriodEnded(f"the billing period ended on {period_end.isoformat()}")
    start = max(effective, period_start)
    remaining = (period_end - start).days + 1
    total = (period_end - period_start).days + 1
    factor = Fraction(quantity * period_months * remaining, total)
    return Proration(unit_price.times(factor), remaining, total, start)
