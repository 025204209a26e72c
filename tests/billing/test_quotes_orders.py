"""Quote -> order rules, called directly (no HTTP)."""

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.billing.adapters.orm import Handoff, Invoice, Order
from bot.billing.domain.errors import Conflict, Forbidden, Invalid, NotFound
from bot.billing.services import orders, quotes
from tests.billing.conftest import PINNED
from tests.billing.helpers import audit_actions, count, invoices, quantity
from tests.conftest import ALEX, OLIVIA, PRIYA, SAM, TOM

NOW = PINNED  # the clock every test here runs on (tests/billing/conftest.py)


def quote(db, actor, fn, *args, **kw):
    with db.session(write=True) as s:
        q = fn(s, actor, *args, **kw)
        _ = q.product  # loaded for the assertions, after the session ends
        return q


def order(db, actor, q, key=None, **kw):
    with db.session(write=True) as s:
        return orders.place_order(s, actor, q.number, key or q.idempotency_key, **kw)


def test_a_quote_states_quantity_price_proration_and_new_total_and_changes_nothing(db):
    before = quantity(db, "Acme Corp", "enterprise")
    q = quote(db, ALEX, quotes.quote_add_licenses, 5, "enterprise")
    assert (q.quantity, q.unit_amount, q.currency) == (5, 16500, "USD")
    assert q.new_quantity == before + 5
    # Acme's monthly total: 40x165 + 10x25 + 5x75 + 2x125 = 7,475; plus 5 x 165
    assert q.new_monthly_total == 747500 + 5 * 16500
    assert 0 < q.prorated_amount <= 5 * 16500 * 12
    assert q.prorated_amount == round(5 * 16500 * 12 * q.remaining_days / q.period_days)
    assert quantity(db, "Acme Corp", "enterprise") == before
    assert count(db, Order) == 0


def test_an_order_applies_the_quote_once_and_invoices_the_prorated_amount(db):
    q = quote(db, ALEX, quotes.quote_add_licenses, 5, "enterprise")
    n_invoices = invoices(db)
    first = order(db, ALEX, q)
    assert first.created
    assert quantity(db, "Acme Corp", "enterprise") == 45
    again = order(db, ALEX, q)  # a retried Slack event, a double click
    assert not again.created and again.order.number == first.order.number
    assert quantity(db, "Acme Corp", "enterprise") == 45
    assert count(db, Order) == 1
    assert invoices(db) == n_invoices + 1
    with db.session() as s:
        inv = s.scalar(select(Invoice).where(Invoice.id == first.order.invoice_id))
        assert (inv.total, inv.status, inv.currency) == (q.prorated_amount, "open", "USD")
        assert inv.lines[0].quantity == 5 and "Enterprise" in inv.lines[0].description
    assert audit_actions(db)[-2:] == ["quote.create", "order.add_licenses"]


def test_the_same_key_on_another_quote_is_refused(db):
    q1 = quote(db, ALEX, quotes.quote_add_licenses, 1, "enterprise")
    q2 = quote(db, ALEX, quotes.quote_add_licenses, 2, "enterprise")
    order(db, ALEX, q1)
    with pytest.raises(Conflict) as err:
        order(db, ALEX, q2, key=q1.idempotency_key)
    assert err.value.code == "idempotency_key_reused"
    assert quantity(db, "Acme Corp", "enterprise") == 41


def test_an_expired_quote_is_refused_and_changes_nothing(db):
    q = quote(db, ALEX, quotes.quote_add_licenses, 3, "enterprise", now=NOW - timedelta(hours=2))
    with pytest.raises(Conflict) as err:
        order(db, ALEX, q)
    assert err.value.code == "quote_expired"
    assert quantity(db, "Acme Corp", "enterprise") == 40
    assert count(db, Order) == 0


def test_quote_expiry_boundary(db):
    q = quote(db, ALEX, quotes.quote_add_licenses, 1, "enterprise", now=NOW)
    assert order(db, ALEX, q, now=q.expires_at - timedelta(seconds=1)).created


def test_ambiguous_add_licenses_asks_which_product(db):
    with pytest.raises(Invalid) as err:
        quote(db, ALEX, quotes.quote_add_licenses, 5)  # Acme has Enterprise, Inbox and Dialer per user
    assert err.value.code == "ambiguous_product"
    assert "enterprise" in err.value.details["fields"]["product"]
    q = quote(db, OLIVIA, quotes.quote_add_licenses, 2)  # Bluebird has one per-user product
    assert q.product.code == "essentials" and q.currency == "EUR"


@pytest.mark.parametrize("bad", [0, -1, 10_001])
def test_quantity_out_of_range_is_refused(db, bad):
    with pytest.raises(Invalid):
        quote(db, ALEX, quotes.quote_add_licenses, bad, "enterprise")


def test_essentials_is_capped_at_ten_users(db):
    with pytest.raises(Conflict) as err:
        quote(db, OLIVIA, quotes.quote_add_licenses, 5)  # 6 + 5 > 10
    assert err.value.code == "edition_limit"
    assert quote(db, OLIVIA, quotes.quote_add_licenses, 4).new_quantity == 10


def test_add_product_creates_a_line_at_list_price(db):
    q = quote(db, ALEX, quotes.quote_add_product, "analytics", 10)
    assert q.unit_amount == 7500
    order(db, ALEX, q)
    assert quantity(db, "Acme Corp", "analytics") == 10
    with pytest.raises(Conflict):
        quote(db, ALEX, quotes.quote_add_product, "analytics", 1)  # already has it


def test_essentials_may_add_only_the_common_add_ons(db):
    with pytest.raises(Conflict) as err:
        quote(db, OLIVIA, quotes.quote_add_product, "field_service", 1)
    assert err.value.code == "not_on_essentials"
    q = quote(db, OLIVIA, quotes.quote_add_product, "dialer", 2)
    assert (q.unit_amount, q.currency) == (7000, "EUR")


def test_upgrade_from_essentials_creates_a_sales_handoff_and_keeps_the_plan(db):
    with db.session(write=True) as s:
        outcome = quotes.request_upgrade(s, OLIVIA, "enterprise")
    assert outcome.quote is None
    assert outcome.handoff.queue == "sales" and "Enterprise" in outcome.handoff.reason
    assert quantity(db, "Bluebird Bakery", "essentials") == 6
    assert quantity(db, "Bluebird Bakery", "enterprise") is None
    assert count(db, Handoff) == 1 and count(db, Order) == 0


def test_upgrade_from_enterprise_is_quoted_then_ordered(db):
    with db.session(write=True) as s:
        q = quotes.request_upgrade(s, ALEX, "unlimited").quote
        _ = q.product
    assert q.kind == "change_edition" and q.quantity == 40 and q.unit_amount == 33000
    assert q.prorated_amount == round(40 * (33000 - 16500) * 12 * q.remaining_days / q.period_days)
    order(db, ALEX, q)
    assert quantity(db, "Acme Corp", "unlimited") == 40
    assert quantity(db, "Acme Corp", "enterprise") is None


def test_downgrades_and_same_edition_are_refused(db):
    with db.session(write=True) as s, pytest.raises(Conflict) as err:
        quotes.request_upgrade(s, ALEX, "professional")
    assert err.value.code == "downgrade_needs_sales"
    with db.session(write=True) as s, pytest.raises(Conflict):
        quotes.request_upgrade(s, ALEX, "enterprise")


@pytest.mark.parametrize("actor", [SAM, TOM])
def test_users_without_manage_billing_cannot_quote_or_order(db, actor):
    with pytest.raises(Forbidden) as err:
        quote(db, actor, quotes.quote_add_licenses, 1, "enterprise")
    assert err.value.code == "needs_manage_billing"
    assert err.value.details["admins"]  # who can grant it
    assert "system administrator" in err.value.message


def test_manage_billing_without_admin_rights_is_enough(db):
    q = quote(db, PRIYA, quotes.quote_add_licenses, 1, "dialer")
    assert order(db, PRIYA, q).created


def test_another_orgs_quote_does_not_exist_for_you(db):
    q = quote(db, ALEX, quotes.quote_add_licenses, 1, "enterprise")
    with pytest.raises(NotFound):
        order(db, OLIVIA, q)
    with pytest.raises(Forbidden):  # nor for a user without the permission in the same org
        order(db, SAM, q)
    assert quantity(db, "Acme Corp", "enterprise") == 40


def test_an_invoice_is_dated_in_the_organisations_time_zone(db):
    """Late evening in New York is already tomorrow in UTC: the invoice's issue date is Acme's day,
    the same day its prorated period starts (it said "issued Dec 6" for a period from Dec 5)."""
    evening = (
        NOW.astimezone(ZoneInfo("America/New_York"))
        .replace(hour=21, minute=30, second=0, microsecond=0)
        .astimezone(timezone.utc)
    )  # 01:30 or 02:30 UTC, the next day
    q = quote(db, ALEX, quotes.quote_add_licenses, 2, "enterprise", now=evening)
    placed = order(db, ALEX, q, now=evening + timedelta(minutes=1))
    with db.session() as s:
        inv = s.scalar(select(Invoice).where(Invoice.id == placed.order.invoice_id))
        local_day = evening.astimezone(ZoneInfo("America/New_York")).date()
        assert inv.issue_date == local_day == inv.lines[0].period_start, (inv.issue_date, inv.lines[0].period_start)
        assert inv.issue_date != evening.date()  # the UTC day
