"""The backend on two pinned days, through the API a customer's assistant calls: a month end
(2027-01-31) and a leap day (2028-02-29). The demo is seeded on that day (its dates are relative
to the clock's today), then a quote is prorated, an invoice is overdue, a card link and a quote
expire: every figure below is worked out by hand from the seed (bot/billing/seed/demo.json) and
the proration rule, and is the same whatever day the tests run.

At 15:00 UTC both demo organisations are on the UTC date: 10:00 in New York (Acme), 15:00 in
Dublin (Bluebird).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from bot.billing.adapters.orm import Invoice
from tests.conftest import SERVICE_TOKEN


@dataclass(frozen=True)
class Day:
    at: datetime
    # Acme (annual, USD): the term started 9 months before the month's first day; adding
    # 5 Enterprise users ($165/user/month) costs 5 x 165 x 12 x days left / days in the term.
    term: tuple[date, date]
    term_days: int
    days_left: int
    acme_prorated: str
    # Bluebird (monthly, EUR): 2 Essentials users (EUR 25/user/month) for the month's last day.
    bluebird_period_days: int
    bluebird_prorated: str
    # INV-1041 (dialer x 2, issued 75 days ago, due 30 days later: 45 days ago) is overdue;
    # INV-1042 (issued 25 days ago) is due in 5 days.
    overdue_due: date
    overdue_total: str
    next_due: date


MONTH_END = Day(
    at=datetime(2027, 1, 31, 15, 0, tzinfo=timezone.utc),
    term=(date(2026, 4, 1), date(2027, 3, 31)),
    term_days=365,
    days_left=60,  # Jan 31, 28 days of February, 31 of March
    acme_prorated="$1,627.40",  # 990,000 x 60 / 365 = 162,739.73 cents
    bluebird_period_days=31,
    bluebird_prorated="€1.61",  # 5,000 x 1 / 31 = 161.29 cents
    overdue_due=date(2026, 12, 17),
    # dialer x 2 at $75, prorated 2026-11-17..2027-03-31: 180,000 x 135 / 365 = 66,575.34 cents
    overdue_total="$665.75",
    next_due=date(2027, 2, 5),
)
LEAP_DAY = Day(
    at=datetime(2028, 2, 29, 15, 0, tzinfo=timezone.utc),
    term=(date(2027, 5, 1), date(2028, 4, 30)),
    term_days=366,  # the term holds 2028-02-29
    days_left=62,  # Feb 29, 31 days of March, 30 of April
    acme_prorated="$1,677.05",  # 990,000 x 62 / 366 = 167,704.92 cents
    bluebird_period_days=29,
    bluebird_prorated="€1.72",  # 5,000 x 1 / 29 = 172.41 cents
    overdue_due=date(2028, 1, 15),
    # prorated 2027-12-16..2028-04-30: 180,000 x 137 / 366 = 67,377.05 cents
    overdue_total="$673.77",
    next_due=date(2028, 3, 5),
)


@pytest.fixture
def api(billing_server, db):
    def client(user: str = "alex@acme.example") -> httpx.Client:
        headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-User": user, "X-Channel": "test"}
        return httpx.Client(base_url=billing_server.url, headers=headers, timeout=10)

    return client


@pytest.mark.parametrize("day", [MONTH_END, LEAP_DAY], ids=["month-end", "leap-day"])
def test_what_a_customer_sees_on_a_pinned_day(api, seed_on, day: Day):
    clock = seed_on(day.at)
    alex, olivia = api(), api("olivia@bluebird.example")

    # The contract the seed made, relative to the clock's today.
    [contract] = alex.get("/v1/contracts").json()
    assert (contract["term_start"], contract["term_end"]) == tuple(d.isoformat() for d in day.term)

    # Proration: to the term's end for Acme, to the month's end for Bluebird.
    quote = alex.post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"}).json()
    assert quote["effective_date"] == day.at.date().isoformat()
    assert quote["period_end"] == day.term[1].isoformat()
    assert (quote["remaining_days"], quote["period_days"]) == (day.days_left, day.term_days)
    assert quote["prorated_amount"]["formatted"] == day.acme_prorated
    small = olivia.post("/v1/quotes/add-licenses", json={"quantity": 2}).json()
    assert small["effective_date"] == small["period_end"] == day.at.date().isoformat()  # the month's last day
    assert (small["remaining_days"], small["period_days"]) == (1, day.bluebird_period_days)
    assert small["prorated_amount"]["formatted"] == day.bluebird_prorated

    # An overdue invoice: in the list, in the balance, and on its PDF.
    [overdue] = alex.get("/v1/invoices", params={"status": "overdue"}).json()
    assert (overdue["number"], overdue["overdue"], overdue["due_date"]) == (
        "INV-1041",
        True,
        day.overdue_due.isoformat(),
    )
    assert overdue["total"]["formatted"] == day.overdue_total
    balance = alex.get("/v1/balance").json()
    assert balance["overdue_total"]["formatted"] == day.overdue_total
    assert balance["next_due_date"] == day.next_due.isoformat()
    assert [(i["number"], i["overdue"]) for i in balance["open_invoices"]] == [("INV-1041", True), ("INV-1042", False)]

    # A quote is valid for 30 minutes: open until then, expired (and refused) from then on.
    expires = datetime.fromisoformat(quote["expires_at"])
    assert expires == day.at + timedelta(minutes=30)
    clock.set(expires - timedelta(seconds=1))
    assert alex.get(f"/v1/quotes/{quote['number']}").json()["status"] == "open"
    clock.set(expires)
    assert alex.get(f"/v1/quotes/{quote['number']}").json()["status"] == "expired"
    refused = alex.post("/v1/orders", json={"quote": quote["number"]}, headers={"Idempotency-Key": "k1"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "quote_expired"

    # A card link works for 15 minutes.
    clock.set(day.at)
    link = alex.post("/v1/payment-method/link").json()
    assert datetime.fromisoformat(link["expires_at"]) == day.at + timedelta(minutes=15)
    clock.set(day.at + timedelta(minutes=14, seconds=59))
    page = httpx.get(link["url"])
    assert page.status_code == 200 and "ending 4242" in page.text
    clock.set(day.at + timedelta(minutes=15))
    gone = httpx.get(link["url"])
    assert gone.status_code == 403 and "expired" in gone.text


def test_a_pinned_day_gives_the_same_invoices_twice(db, seed_on):
    """Seeding is a function of the clock alone: two seeds on one day give the same dates."""

    def dates() -> list[tuple[str, date, date]]:
        with db.session() as s:
            return [(i.number, i.issue_date, i.due_date) for i in s.scalars(select(Invoice).order_by(Invoice.number))]

    seed_on(LEAP_DAY.at)
    first = dates()
    seed_on(LEAP_DAY.at + timedelta(hours=8))  # 23:00 UTC, still Feb 29
    assert dates() == first
    assert ("INV-1041", date(2027, 12, 16), date(2028, 1, 15)) in first
