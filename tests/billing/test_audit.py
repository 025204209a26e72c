"""Every mutation leaves one audit entry (who, what, when, channel, before/after), written in
its own transaction: when the mutation fails, there is no entry either."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.billing.adapters.orm import AuditEntry
from bot.billing.domain.errors import BillingError
from bot.billing.payments.sandbox import SandboxProvider
from bot.billing.services import handoffs, orders, payments, profile, quotes, support
from bot.billing.services.access import Actor
from tests.billing.conftest import PINNED
from tests.conftest import ALEX

SLACK_ALEX = Actor("alex@acme.example", channel="slack", slack_team="T0001")  # Acme's linked workspace


def entries(db):
    with db.session() as s:
        return s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_each_mutation_is_audited_with_actor_channel_and_before_after(db):
    with db.session(write=True) as s:
        q = quotes.quote_add_licenses(s, SLACK_ALEX, 2, "dialer")
    with db.session(write=True) as s:
        orders.place_order(s, SLACK_ALEX, q.number, q.idempotency_key)
    with db.session(write=True) as s:
        payments.pay_invoice(s, SLACK_ALEX, "INV-1041", "k", SandboxProvider())
        profile.update_profile(s, SLACK_ALEX, {"city": "Oakland"})
        support.open_case(s, SLACK_ALEX, "Question", "About invoices")
        handoffs.request_handoff(s, SLACK_ALEX, queue="sales", reason="Wants a demo")
    log = entries(db)
    assert [e.action for e in log] == [
        "quote.create",
        "order.add_licenses",
        "invoice.pay",
        "billing_profile.update",
        "case.open",
        "handoff.open",
    ]
    assert all(e.actor == "alex@acme.example" and e.channel == "slack" and e.at for e in log)
    order = log[1]
    assert order.before["lines"]["dialer"]["quantity"] == 5
    assert order.after["lines"]["dialer"]["quantity"] == 7 and order.after["invoice"].startswith("INV-")
    assert (log[3].before["city"], log[3].after["city"]) == ("San Francisco", "Oakland")


def test_a_failed_mutation_leaves_no_entry(db):
    past = PINNED - timedelta(hours=1)  # the quote is an hour old when ordered: expired
    with db.session(write=True) as s:
        q = quotes.quote_add_licenses(s, ALEX, 1, "enterprise", now=past)
    before = len(entries(db))
    with pytest.raises(BillingError), db.session(write=True) as s:
        orders.place_order(s, ALEX, q.number, q.idempotency_key)
    with pytest.raises(BillingError), db.session(write=True) as s:
        profile.update_profile(s, ALEX, {"city": "Oakland", "contact_email": "bad"})
    assert len(entries(db)) == before
