"""The golden conversations of PRODUCT.md that need no channel (1, 2, 3, 5, 6, 7), end to end:
the replies a person would read and the billing database afterwards."""

from __future__ import annotations

import re
import sqlite3

from sqlalchemy import func, select

from bot.billing.adapters.orm import AuditEntry, Handoff, Invoice, Order, Payment
from tests.billing.helpers import count, quantity


def test_1_add_licenses_with_a_quote_and_one_order(chat, billing_db):
    alex = chat("alex")
    # "licenses" with no product: the edition's seats, named in the quote with the other line
    quote = alex.text("add 5 licenses")
    assert "Add 5 Enterprise licenses" in quote and "$165.00" in quote, quote  # quantity and unit price
    assert "Inbox instead" in quote, quote
    assert re.search(r"\$[\d,]+\.\d\d", quote) and "Yes" in alex.buttons()
    invoices_before = count(billing_db, Invoice)
    done = alex.press("Yes")
    assert re.search(r"ORD-\d+", done), done
    assert quantity(billing_db, "Acme Corp", "enterprise") == 45
    assert count(billing_db, Order) == 1 and count(billing_db, Invoice) == invoices_before + 1
    again = alex.text("yes")  # a second yes must not order again
    assert count(billing_db, Order) == 1 and quantity(billing_db, "Acme Corp", "enterprise") == 45, again


def test_1_no_cancels_and_changes_nothing(chat, billing_db):
    alex = chat("alex")
    alex.text("i need 3 more dialer licenses")
    assert "Yes" in alex.buttons()
    alex.press("No")
    assert count(billing_db, Order) == 0 and quantity(billing_db, "Acme Corp", "dialer") == 5


def test_1_changing_the_quantity_requotes(chat, billing_db):
    alex = chat("alex")
    alex.text("add 5 enterprise licenses")
    requote = alex.text("make it 7")
    assert "7" in requote, requote
    alex.press("Yes")
    assert quantity(billing_db, "Acme Corp", "enterprise") == 47 and count(billing_db, Order) == 1


def test_2_latest_invoice_then_email_it(chat, billing_db, stack):
    before = set((stack.data_dir / "outbox").glob("*.eml"))  # the outbox is the session's
    alex = chat("alex")
    details = alex.text("send me last invoice")
    with billing_db.session() as s:
        latest = s.scalar(select(Invoice).where(Invoice.number == "INV-1042"))
        amount = f"${latest.total / 100:,.2f}"
    assert "INV-1042" in details and amount in details and "/v1/invoice-files/" in details, details
    sent = alex.text("email it to ap@acme.example")
    assert "ap@acme.example" in sent and "INV-1042" in sent, sent
    mails = list(set((stack.data_dir / "outbox").glob("*.eml")) - before)
    assert len(mails) == 1 and "ap@acme.example" in mails[0].read_text(errors="replace")


def test_3_essentials_upgrade_creates_a_sales_handoff(chat, billing_db):
    olivia = chat("olivia")
    reply = olivia.text("upgrade to Enterprise")
    if "Yes" in olivia.buttons():  # the bot may first explain and offer an account executive
        reply = olivia.press("Yes")
    assert "account executive" in reply.lower() and re.search(r"HO-\d+", reply), reply
    with billing_db.session() as s:
        handoff = s.scalar(select(Handoff))
        assert handoff.queue == "sales" and "Enterprise" in handoff.reason
    assert quantity(billing_db, "Bluebird Bakery", "essentials") == 6  # the plan did not change


def test_5_without_manage_billing_paying_is_refused(chat, billing_db):
    sam = chat("sam")
    reply = sam.text("pay my open invoice")
    if "Yes" in sam.buttons():
        reply += sam.press("Yes")
    assert "Manage Billing" in reply and "Alex Rivera" in reply, reply
    assert count(billing_db, Payment) == 5  # the seeded ones
    with billing_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == "open")) == 3


def test_5_a_billing_admin_pays_once(chat, billing_db):
    alex = chat("alex")
    alex.text("pay INV-1041")
    paid = alex.press("Yes")
    assert re.search(r"PAY-\d+", paid), paid
    alex.text("yes")
    with billing_db.session() as s:
        assert s.scalar(select(Invoice.status).where(Invoice.number == "INV-1041")) == "paid"
    assert count(billing_db, Payment) == 6


def test_6_unrelated_requests_get_a_polite_capabilities_answer_and_no_action(chat, billing_db):
    alex = chat("alex")
    audit_before = count(billing_db, AuditEntry)
    reply = alex.text("what's the weather like in Paris tomorrow?")
    assert "help" in reply.lower() and ("invoice" in reply.lower() or "licen" in reply.lower()), reply
    assert count(billing_db, AuditEntry) == audit_before


def test_7_a_pasted_card_number_is_never_stored_or_echoed(chat, billing_db, stack):
    alex = chat("alex")
    reply = alex.text("here is my new card 4242 4242 4242 4242 exp 12/29")
    assert "/pay/card/" in reply and "4242 4242" not in reply and "4242424242424242" not in reply, reply
    # This conversation's events (the session's tracker store also holds earlier tests' ones; the
    # fuzz test checks its own card-like inputs, in every written form, in tests/e2e/test_fuzz.py)
    stored = (
        sqlite3.connect(stack.tracker_db)
        .execute("select data from events where sender_id = ?", (alex.sender,))
        .fetchall()
    )
    assert stored and not any("4242 4242 4242 4242" in d or "4242424242424242" in d for (d,) in stored)
    for log in (stack.data_dir / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        assert "4242 4242 4242 4242" not in text and "4242424242424242" not in text, log.name
