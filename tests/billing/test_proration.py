"""The proration rule (bot/billing/domain/proration.py), called directly."""

from datetime import date
from fractions import Fraction

import pytest

from bot.billing.domain.money import Money, format_money, round_half_up
from bot.billing.domain.periods import add_months, period_containing
from bot.billing.domain.proration import PeriodEnded, prorate

USD = lambda cents: Money(cents, "USD")  # noqa: E731
YEAR_2026 = dict(period_start=date(2026, 3, 1), period_end=date(2027, 2, 28), period_months=12)
LEAP_YEAR = dict(period_start=date(2027, 3, 1), period_end=date(2028, 2, 29), period_months=12)


def test_first_day_charges_the_whole_period():
    p = prorate(5, USD(16500), effective=date(2026, 3, 1), **YEAR_2026)
    assert p.amount == USD(5 * 16500 * 12)  # $9,900.00
    assert (p.remaining_days, p.period_days) == (365, 365)


def test_last_day_charges_one_day():
    p = prorate(5, USD(16500), effective=date(2027, 2, 28), **YEAR_2026)
    # 5 x $165 x 12 / 365 = $27.123... -> $27.12
    assert p.amount == USD(2712)
    assert p.remaining_days == 1


def test_leap_year_has_366_days_so_a_day_is_worth_less():
    normal = prorate(1, USD(36500), effective=date(2027, 2, 28), **YEAR_2026)
    leap = prorate(1, USD(36500), effective=date(2028, 2, 29), **LEAP_YEAR)
    assert leap.period_days == 366
    assert normal.amount == USD(1200)  # $365 x 12 / 365 days = $12.00
    assert leap.amount == USD(1197)  # $365 x 12 / 366 days = $11.967 -> $11.97
    # Feb 29 itself is a billable day
    assert prorate(1, USD(36500), effective=date(2028, 2, 28), **LEAP_YEAR).remaining_days == 2


def test_mid_month_counts_days_not_months():
    # Sep 15 2026 to Feb 28 2027 inclusive = 16 + 31 + 30 + 31 + 31 + 28 = 167 days
    p = prorate(3, USD(7500), effective=date(2026, 9, 15), **YEAR_2026)
    assert p.remaining_days == 167
    assert p.amount == USD(round_half_up(Fraction(3 * 7500 * 12 * 167, 365)))
    assert p.amount == USD(123534)


def test_monthly_period_prorates_within_the_month():
    feb = dict(period_start=date(2026, 2, 1), period_end=date(2026, 2, 28), period_months=1)
    assert prorate(2, USD(2500), effective=date(2026, 2, 15), **feb).amount == USD(2500 * 2 * 14 // 28)


def test_rounding_is_half_up_once_at_the_end():
    # 1 x 1 cent x 12 months x 1 / 24 days = 0.5 cent -> 1 cent (not 0 as banker's rounding would give)
    p = prorate(
        1,
        USD(1),
        effective=date(2026, 1, 24),
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 24),
        period_months=12,
    )
    assert p.amount == USD(1)


def test_before_the_period_is_the_full_period_and_after_it_is_refused():
    assert prorate(1, USD(100), effective=date(2026, 1, 1), **YEAR_2026).amount == USD(1200)
    with pytest.raises(PeriodEnded):
        prorate(1, USD(100), effective=date(2027, 3, 1), **YEAR_2026)


def test_a_price_decrease_gives_a_credit_by_the_same_rule():
    assert prorate(2, USD(-100), effective=date(2026, 3, 1), **YEAR_2026).amount == USD(-2400)


def test_money_is_never_float():
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        USD(1) + Money(1, "EUR")
    assert format_money(123456789, "USD") == "$1,234,567.89"
    assert format_money(-2500, "EUR") == "-€25.00"


def test_periods_are_whole_months_from_the_term_start():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert period_containing(date(2026, 1, 31), date(2027, 1, 30), 1, date(2026, 3, 5)) == (
        date(2026, 2, 28),
        date(2026, 3, 30),
    )
    assert period_containing(date(2026, 3, 1), date(2027, 2, 28), 12, date(2026, 11, 27)) == (
        date(2026, 3, 1),
        date(2027, 2, 28),
    )
    assert period_containing(date(2026, 3, 1), date(2027, 2, 28), 1, date(2026, 11, 27)) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
