"""Short answers with nothing waiting for them stand for the request they name; "the other one"
takes the one alternative a question offered; "an invoice" is asked about, never guessed (issue 18).

Each test reads the replies a customer would read and checks the billing database afterwards."""

from __future__ import annotations

import re

from bot.billing.adapters.orm import Handoff, Order, Payment
from tests.billing.helpers import count, quantity

SEEDED_PAYMENTS = 5


def test_a_product_and_a_number_alone_are_a_request_for_that_many(chat, billing_db):
    olivia = chat("olivia")  # Bluebird Bakery, Essentials: no Inbox on the contract
    quoted = olivia.text("3 inbox please")
    assert "Inbox" in quoted and re.search(r"Q-\d+", quoted), quoted
    assert "as a new product" in quoted, quoted  # quoted at once, not a button to press
    assert count(billing_db, Order) == 0
    assert re.search(r"ORD-\d+", olivia.text("go ahead"))
    assert quantity(billing_db, "Bluebird Bakery", "inbox") == 3


def test_a_number_alone_after_an_offer_to_buy_completes_it(chat, billing_db):
    alex = chat("alex")
    assert "no quote waiting" in alex.text("3").lower()  # nothing offered: a number alone names nothing
    # A press of "Add Field Service licenses" (a did-you-mean's choice): not on the contract, so
    # it is offered as a purchase, and a number alone completes that offer.
    offered = alex.text('/add_licenses{"product":"field_service"}')
    assert alex.buttons() == ["Buy Field Service"], offered
    quoted = alex.text("4")
    assert "Field Service" in quoted and "4" in quoted and re.search(r"Q-\d+", quoted), quoted
    assert re.search(r"ORD-\d+", alex.text("yes"))
    assert quantity(billing_db, "Acme Corp", "field_service") == 4


def test_unsure_between_adding_licenses_and_buying_a_product_is_one_request(chat, billing_db):
    alex = chat("alex")
    asked = alex.text("add field service licenses")  # the classifier splits it between the two
    assert "how many" in asked.lower() and "did you mean" not in asked.lower(), asked
    quoted = alex.text("6")
    assert "Field Service" in quoted and "6" in quoted and re.search(r"Q-\d+", quoted), quoted
    assert count(billing_db, Order) == 0


def test_an_invoice_number_alone_shows_that_invoice(chat, billing_db):
    priya = chat("priya")
    shown = priya.text("INV-1040")
    assert "INV-1040" in shown and "didn't quite get" not in shown, shown


def test_the_other_one_switches_a_payment_to_the_one_alternative(chat, billing_db):
    alex = chat("alex")
    asked = alex.text("pay INV-1041")
    assert "INV-1041" in asked and any("INV-1042" in b for b in alex.buttons()), asked
    switched = alex.text("no wait, the other one")
    assert "INV-1042" in switched and "haven't paid" not in switched, switched
    assert count(billing_db, Payment) == SEEDED_PAYMENTS
    paid = alex.text("yes")
    assert re.search(r"PAY-\d+", paid), paid
    assert count(billing_db, Payment) == SEEDED_PAYMENTS + 1


def test_an_invoice_to_forward_is_asked_for_not_guessed(chat, stack, billing_db):
    before = set((stack.data_dir / "outbox").glob("*.eml"))  # the outbox is the session's
    priya = chat("priya")
    asked = priya.text("forward an invoice to ap@acme.example")
    assert "which invoice" in asked.lower(), asked
    assert set((stack.data_dir / "outbox").glob("*.eml")) == before  # nothing sent on a guess
    sent = priya.text("INV-1040")
    assert "INV-1040" in sent and "ap@acme.example" in sent, sent
    mails = [m.read_text(errors="replace") for m in set((stack.data_dir / "outbox").glob("*.eml")) - before]
    assert len(mails) == 1 and "ap@acme.example" in mails[0] and "INV-1040" in mails[0]


def test_five_of_those_after_hearing_about_a_product_quotes_it(chat, billing_db):
    alex = chat("alex")
    assert "technicians" in alex.text("what is field service?").lower()
    quoted = alex.text("add 5 of those")
    if "did you mean" in quoted.lower():  # unsure of the request, the choice still names the product
        assert "Field Service" in quoted, quoted
        quoted = alex.press("Field Service")
    assert "Field Service" in quoted and "5" in quoted and re.search(r"Q-\d+", quoted), quoted
    assert re.search(r"ORD-\d+", alex.text("yes"))
    assert quantity(billing_db, "Acme Corp", "field_service") == 5
    # "add 5 licenses" names no product and points at none: the edition's seats, as always
    assert "technicians" in alex.text("tell me about field service").lower()
    assert "Enterprise" in alex.text("add 5 licenses")


def test_asking_for_an_account_executive_goes_to_sales(chat, billing_db):
    olivia = chat("olivia")
    reply = olivia.text("could I talk with an account manager about adding more people")
    if "Yes, connect me" in olivia.buttons():
        reply = olivia.press("Yes, connect me")
    assert re.search(r"HO-\d+", reply), reply
    with billing_db.session() as s:
        assert [h.queue for h in s.query(Handoff).all()] == ["sales"]


def test_a_terse_purchase_of_a_named_product_is_quoted_not_questioned(chat, billing_db):
    olivia = chat("olivia")  # File Storage is on Bluebird's contract: more of it
    quoted = olivia.text("more file storage, 2 blocks")
    assert "File Storage" in quoted and re.search(r"Q-\d+", quoted) and "did you mean" not in quoted.lower(), quoted
    assert re.search(r"ORD-\d+", olivia.text("yes"))
    assert quantity(billing_db, "Bluebird Bakery", "file_storage") == 3
    # a purchase with another request in the running is still a choice
    asked = olivia.text("we're thinking about 50 more seats of essentials, can someone from sales call us")
    assert not re.search(r"Q-\d+", asked), asked
