"""Invoices, balance, download links and payments, called directly."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.billing.adapters.orm import Invoice, Payment, PaymentMethod
from bot.billing.config import get_settings
from bot.billing.domain import signing
from bot.billing.domain.errors import Conflict, Forbidden, NotFound, PaymentFailed, Unavailable
from bot.billing.payments.sandbox import SandboxProvider
from bot.billing.services import invoices, payments
from tests.billing.helpers import audit_actions, count
from tests.conftest import ALEX, OLIVIA, SAM


def test_invoices_are_listed_newest_first_and_filtered(db, clock):
    with db.session() as s:
        listed = invoices.list_invoices(s, ALEX)
        numbers = [i.number for i in listed]
        assert numbers == ["INV-1042", "INV-1041", "INV-1040", "INV-1039"]
        assert [i.number for i in invoices.list_invoices(s, ALEX, status="open")] == ["INV-1042", "INV-1041"]
        assert [i.number for i in invoices.list_invoices(s, ALEX, status="overdue")] == ["INV-1041"]
        assert [i.number for i in invoices.list_invoices(s, ALEX, limit=1)] == ["INV-1042"]
        latest = listed[0]
        assert [
            i.number
            for i in invoices.list_invoices(s, ALEX, year=latest.issue_date.year, month=latest.issue_date.month)
        ][0] == "INV-1042"
        assert invoices.list_invoices(s, ALEX, since=clock.today() + timedelta(days=1)) == []


def test_an_invoice_of_another_org_does_not_exist_for_you(db):
    with db.session() as s:
        assert invoices.get_invoice(s, ALEX, "inv-1042").number == "INV-1042"
        with pytest.raises(NotFound):
            invoices.get_invoice(s, OLIVIA, "INV-1042")
        with pytest.raises(NotFound):
            invoices.get_invoice(s, ALEX, "INV-9999")
        with pytest.raises(Forbidden):
            invoices.get_invoice(s, SAM, "INV-1042")


def test_balance_tells_what_is_owed_overdue_and_next_due(db):
    with db.session() as s:
        b = invoices.balance(s, ALEX)
        open_ = {i.number: i for i in b.open_invoices}
        assert set(open_) == {"INV-1041", "INV-1042"}
        assert b.open_total.amount == open_["INV-1041"].total + open_["INV-1042"].total
        assert b.overdue_total.amount == open_["INV-1041"].total
        assert b.next_due == open_["INV-1042"].due_date


def test_download_links_expire_and_cannot_be_altered(db, clock):
    now = clock.now()
    with db.session() as s:
        link = invoices.download_link(s, ALEX, "INV-1042", now=now)
        token = link.url.rsplit("/", 1)[1]
        assert invoices.invoice_from_link(s, token).number == "INV-1042"
        with pytest.raises(Forbidden) as err:
            invoices.invoice_from_link(s, token, now=link.expires_at + timedelta(seconds=1))
        assert err.value.code == "link_expired"
        tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        with pytest.raises(Forbidden):
            invoices.invoice_from_link(s, tampered)
        # a link made for another purpose (the card page) opens no invoice, whatever it claims
        other = signing.sign(get_settings().billing_signing_key, "card-page", {"inv": "INV-1042"}, link.expires_at)
        with pytest.raises(Forbidden) as err:
            invoices.invoice_from_link(s, other)
        assert err.value.code == "link_invalid"
        forged = signing.sign(
            "another-key-of-at-least-thirty-two-bytes", invoices.PDF_PURPOSE, {"inv": "INV-1042"}, link.expires_at
        )
        with pytest.raises(Forbidden):
            invoices.invoice_from_link(s, forged)


def pay(db, actor, number, key, provider):
    with db.session(write=True) as s:
        return payments.pay_invoice(s, actor, number, key, provider)


def test_paying_an_invoice_is_idempotent(db):
    provider = SandboxProvider()
    first = pay(db, ALEX, "INV-1041", "pay-1", provider)
    assert first.created and first.payment.status == "succeeded"
    again = pay(db, ALEX, "INV-1041", "pay-1", provider)
    other_key = pay(db, ALEX, "INV-1041", "pay-2", provider)  # a second click with a new key
    assert not again.created and not other_key.created
    assert again.payment.number == other_key.payment.number == first.payment.number
    with db.session() as s:
        inv = s.scalar(select(Invoice).where(Invoice.number == "INV-1041"))
        assert inv.status == "paid" and inv.paid_at is not None
        assert count(db, Payment, Payment.invoice_id == inv.id) == 1
    assert len(provider._charges) == 1
    assert "invoice.pay" in audit_actions(db)


def test_a_declined_card_changes_nothing(db):
    provider = SandboxProvider()
    with db.session(write=True) as s:
        acme = s.scalar(select(PaymentMethod).where(PaymentMethod.last4 == "4242"))
        acme.token = "tok_sandbox_decline_x"
    with pytest.raises(PaymentFailed) as err:
        pay(db, ALEX, "INV-1041", "pay-1", provider)
    assert "declined" in err.value.message and "4242" in err.value.message
    with db.session() as s:
        assert s.scalar(select(Invoice.status).where(Invoice.number == "INV-1041")) == "open"


def test_a_provider_outage_changes_nothing(db):
    with db.session(write=True) as s:
        s.scalar(select(PaymentMethod).where(PaymentMethod.last4 == "4242")).token = "tok_sandbox_error_x"
    with pytest.raises(Unavailable):
        pay(db, ALEX, "INV-1041", "pay-1", SandboxProvider())
    with db.session() as s:
        assert s.scalar(select(Invoice.status).where(Invoice.number == "INV-1041")) == "open"
    assert count(db, Payment) == 5  # the seeded ones only


def test_a_paid_invoice_without_a_card_or_void_cannot_be_paid(db):
    with db.session(write=True) as s:
        s.scalar(select(Invoice).where(Invoice.number == "INV-1042")).status = "void"
    with pytest.raises(Conflict):
        pay(db, ALEX, "INV-1042", "k", SandboxProvider())
    with db.session(write=True) as s:
        for m in s.scalars(select(PaymentMethod)):
            m.is_default = False
    with pytest.raises(Conflict) as err:
        pay(db, ALEX, "INV-1041", "k2", SandboxProvider())
    assert err.value.code == "no_payment_method"


def test_without_manage_billing_paying_is_refused_and_changes_nothing(db):
    with pytest.raises(Forbidden) as err:
        pay(db, SAM, "INV-1041", "k", SandboxProvider())
    assert "Alex Rivera" in err.value.message
    with db.session() as s:
        assert s.scalar(select(Invoice.status).where(Invoice.number == "INV-1041")) == "open"


def test_card_links_replace_the_card_without_any_card_number_stored(db, clock):
    provider = SandboxProvider()
    with db.session(write=True) as s:
        link = payments.card_update_link(s, ALEX)
    token = link.url.rsplit("/", 1)[1]
    card = provider.tokenize("4000 0000 0000 0002", 12, clock.today().year + 1, "123", today=clock.today())
    with db.session(write=True) as s:
        method = payments.save_card(s, token, card)
        assert (method.brand, method.last4, method.is_default) == ("visa", "0002", True)
    with db.session() as s:
        cards = s.scalars(select(PaymentMethod).where(PaymentMethod.org_id == method.org_id)).all()
        assert [c.is_default for c in cards].count(True) == 1
        for c in cards:
            assert "4000000000000002" not in f"{c.token}{c.brand}{c.last4}"
    with pytest.raises(PaymentFailed):  # the new (declining) card is now the one charged
        pay(db, ALEX, "INV-1041", "k", provider)


def test_sandbox_tokenize_refuses_bad_cards(clock):
    p, today = SandboxProvider(), clock.today()
    for number in ("4242 4242 4242 4241", "12", "abcd"):
        with pytest.raises(ValueError):
            p.tokenize(number, 1, today.year + 1, "123", today=today)
    with pytest.raises(ValueError):
        p.tokenize("4242424242424242", 1, 2000, "123", today=today)
    # this month still counts; last month has passed
    assert p.tokenize("4242424242424242", today.month, today.year, "123", today=today).last4 == "4242"
    with pytest.raises(ValueError, match="passed"):
        p.tokenize("4242424242424242", 11, 2026, "123", today=today)
