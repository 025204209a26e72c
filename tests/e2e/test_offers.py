"""Yes and no follow what the bot last offered; "did you mean" with a few choices; invoices and
payments picked from what the customer said; a refused read worded as a read (issue 18).

Each test reads the replies a customer would read and checks the billing database afterwards."""

from __future__ import annotations

import json
import re
import sqlite3

from sqlalchemy import select

from bot.billing.adapters.orm import BillingProfile, Handoff, Invoice, Order, Org, Payment
from tests.billing.helpers import count

SEEDED_PAYMENTS = 5


def status(billing_db, number: str) -> str:
    with billing_db.session() as s:
        return s.scalar(select(Invoice.status).where(Invoice.number == number))


def overdue_number(billing_db) -> str:
    """Acme's overdue invoice (seeded 75 days ago, due 45 days ago)."""
    from datetime import date

    with billing_db.session() as s:
        found = s.scalars(select(Invoice).where(Invoice.status == "open")).all()
        return next(i.number for i in found if i.due_date < date.today() and i.number.startswith("INV-10"))


# -- 1. yes/no take what the bot last offered -------------------------------------------------------


def test_ok_pay_it_after_the_balance_takes_the_offered_payment(chat, billing_db):
    alex = chat("alex")
    owed = alex.text("how much do we owe?")
    assert "Pay an open invoice" in alex.buttons(), owed
    asked = alex.text("ok pay it")
    assert "nothing waiting" not in asked.lower(), asked
    assert re.search(r"INV-\d+", asked) and "Yes" in alex.buttons(), asked
    assert count(billing_db, Payment) == SEEDED_PAYMENTS  # taking the offer only asks for the payment's yes
    paid = alex.text("yes")
    assert re.search(r"PAY-\d+", paid), paid
    assert count(billing_db, Payment) == SEEDED_PAYMENTS + 1


def test_a_plain_yes_takes_the_offer_and_a_no_declines_it(chat, billing_db):
    alex = chat("alex")
    alex.text("what do we owe")
    asked = alex.text("yes please")
    assert "nothing waiting" not in asked.lower() and re.search(r"INV-\d+", asked), asked
    declined = alex.text("no")
    assert "haven't paid" in declined.lower(), declined
    assert count(billing_db, Payment) == SEEDED_PAYMENTS

    alex.text("how much do we owe?")
    no = alex.text("no thanks")
    assert "nothing waiting" not in no.lower() and "pay" not in alex.buttons(), no
    assert count(billing_db, Payment) == SEEDED_PAYMENTS


def test_go_ahead_takes_a_single_offered_step(chat, billing_db):
    alex = chat("alex")
    alex.text("show me the latest invoice")
    offered = alex.buttons()
    if len(offered) == 1 and offered[0].startswith("Pay"):  # an open invoice offers its payment
        asked = alex.text("go ahead")
        assert "nothing waiting" not in asked.lower() and "Yes" in alex.buttons(), asked
    assert count(billing_db, Payment) == SEEDED_PAYMENTS


def test_nothing_waiting_only_when_nothing_was_offered_and_then_says_what_next(chat, billing_db):
    alex = chat("alex")
    reply = alex.text("yes")
    assert "nothing waiting" in reply.lower(), reply
    assert len(alex.buttons()) >= 3, alex.last  # what the customer can do next
    visitor = chat(None)
    reply = visitor.text("yes")
    assert "nothing waiting" in reply.lower() and len(visitor.buttons()) >= 2, visitor.last
    assert count(billing_db, Order) == 0 and count(billing_db, Payment) == SEEDED_PAYMENTS


def test_a_stale_offer_is_not_taken_after_another_reply(chat, billing_db):
    """A yes only answers the bot's last message: the offer made two replies ago is gone."""
    alex = chat("alex")
    alex.text("what do we owe?")
    alex.text("thanks")
    reply = alex.text("yes")
    assert not re.search(r"Pay INV-\d+.*\?", reply) and "PAY-" not in reply, reply
    assert count(billing_db, Payment) == SEEDED_PAYMENTS


# -- 3. did you mean ----------------------------------------------------------------------------------


def test_did_you_mean_offers_choices_and_a_second_miss_offers_a_person(chat, billing_db):
    alex = chat("alex")
    first = alex.text("asdf qwerty zxcv")
    second = alex.text("blorp fizzle wump")
    assert {"Talk to a person", "Call me back"} <= set(alex.buttons()), (first, second, alex.last)
    assert count(billing_db, Handoff) == 0  # offered, not created


def test_a_yes_to_did_you_mean_takes_the_top_suggestion(chat, billing_db):
    alex = chat("alex")
    alex.text("hmm")
    # Whatever the bot offered last, a yes to it must not be "nothing waiting" when it offered something.
    offered = alex.buttons()
    reply = alex.text("yes")
    if offered:
        assert "nothing waiting" not in reply.lower(), (offered, reply)
    assert count(billing_db, Order) == 0 and count(billing_db, Payment) == SEEDED_PAYMENTS


# -- 4. which invoice, forms filled from the first message --------------------------------------------


def test_pay_the_overdue_one_picks_the_overdue_invoice(chat, billing_db):
    alex = chat("alex")
    overdue = overdue_number(billing_db)
    asked = alex.text("pay the overdue invoice")
    assert overdue in asked and "Yes" in alex.buttons(), asked
    alex.press("Yes")
    assert status(billing_db, overdue) == "paid"
    assert count(billing_db, Payment) == SEEDED_PAYMENTS + 1


def test_pay_it_after_an_invoice_pays_that_invoice(chat, billing_db):
    alex = chat("alex")
    shown = alex.text("what was on INV-1042?")
    assert "INV-1042" in shown, shown
    asked = alex.text("pay it")
    assert "INV-1042" in asked.split("\n")[0] or re.search(r"Pay INV-1042", asked), asked
    alex.text("yes")
    assert status(billing_db, "INV-1042") == "paid"


def test_email_form_filled_from_the_first_message(chat, billing_db, stack):
    alex = chat("alex")
    before = len(list((stack.data_dir / "outbox").glob("*.eml")))
    sent = alex.text("email invoice INV-1041 to ap@acme.example")
    assert "INV-1041" in sent and "ap@acme.example" in sent and "who should" not in sent.lower(), sent
    assert len(list((stack.data_dir / "outbox").glob("*.eml"))) == before + 1


def test_a_payment_question_is_shown_again_after_an_interruption(chat, billing_db):
    alex = chat("alex")
    alex.text("pay INV-1041")
    reply = alex.text("how much do we owe in total?")
    assert "INV-1041" in reply and "Yes" in alex.buttons(), (reply, alex.last)
    paid = alex.text("yes")
    assert re.search(r"PAY-\d+", paid), paid
    assert status(billing_db, "INV-1041") == "paid"


# -- 5. a refused read ----------------------------------------------------------------------------------


def test_a_refused_read_is_worded_as_a_read_and_names_the_admins(chat, billing_db, stack):
    sam = chat("sam")
    reply = sam.text("send me the last invoice")
    assert "Manage Billing" in reply and "Alex Rivera" in reply, reply
    assert "haven't changed" not in reply and "can't show" in reply.lower(), reply
    stored = (
        sqlite3.connect(stack.tracker_db)
        .execute("select data from events where sender_id = ? and type_name = 'slot'", (sam.sender,))
        .fetchall()
    )
    admins = [json.loads(d) for (d,) in stored if json.loads(d).get("name") == "permission_admins"]
    assert admins and "Alex Rivera" in json.dumps(admins[-1]["value"]), admins


def test_a_refused_change_still_says_nothing_changed(chat, billing_db):
    sam = chat("sam")
    reply = sam.text("pay my open invoice")
    if "Yes" in sam.buttons():
        reply += sam.press("Yes")
    assert "Manage Billing" in reply and "Alex Rivera" in reply and "haven't changed" in reply, reply


def test_no_naming_another_invoice_asks_about_that_one_instead(chat, billing_db):
    alex = chat("alex")
    alex.text("pay INV-1041")
    asked = alex.text("no, INV-1042 instead")
    assert re.search(r"Pay INV-1042, \$", asked) and "Yes" in alex.buttons(), asked
    alex.text("yes")
    assert status(billing_db, "INV-1042") == "paid" and status(billing_db, "INV-1041") == "open"
    assert count(billing_db, Payment) == SEEDED_PAYMENTS + 1


def test_the_first_one_picks_the_first_suggestion(chat, billing_db):
    alex = chat("alex")
    alex.text("how do I get more data storage")
    offered = alex.buttons()
    if len(offered) >= 2:  # a "did you mean" with choices (the classifier decides whether it is unsure)
        reply = alex.text("the first one")
        assert "didn't quite get" not in reply and "nothing waiting" not in reply.lower(), (offered, reply)
    assert count(billing_db, Order) == 0


def test_the_overdue_one_beats_the_invoice_in_context(chat, billing_db):
    alex = chat("alex")
    alex.text("what was on INV-1042?")
    overdue = overdue_number(billing_db)
    asked = alex.text("pay the overdue one")
    assert re.search(rf"Pay {overdue}, \$", asked), asked


def test_send_it_to_another_address_instead(chat, billing_db, stack):
    before = set((stack.data_dir / "outbox").glob("*.eml"))  # the outbox is the session's
    alex = chat("alex")
    alex.text("email INV-1041 to bob@acme.example")
    again = alex.text("send it to ap@acme.example instead")
    assert "INV-1041" in again and "ap@acme.example" in again, again
    mails = [m.read_text(errors="replace") for m in set((stack.data_dir / "outbox").glob("*.eml")) - before]
    assert sum("ap@acme.example" in m for m in mails) == 1 and sum("bob@acme.example" in m for m in mails) == 1


def contact_email(billing_db, org: str = "Acme Corp") -> str:
    with billing_db.session() as s:
        return s.scalar(
            select(BillingProfile.contact_email).join(Org, BillingProfile.org_id == Org.id).where(Org.name == org)
        )


def test_make_it_another_address_after_a_share_readdresses_the_invoice_not_the_contact(chat, billing_db, stack):
    before = set((stack.data_dir / "outbox").glob("*.eml"))  # the outbox is the session's
    contact = contact_email(billing_db)
    alex = chat("alex")
    alex.text("email INV-1041 to bob@acme.example")
    again = alex.text("sorry, make that ap@acme.example instead")
    assert "INV-1041" in again and "ap@acme.example" in again, again
    assert contact_email(billing_db) == contact  # where every future invoice goes did not move
    mails = [m.read_text(errors="replace") for m in set((stack.data_dir / "outbox").glob("*.eml")) - before]
    assert sum("ap@acme.example" in m for m in mails) == 1 and sum("bob@acme.example" in m for m in mails) == 1
    # after a contact change, the same words correct the contact
    assert "ops@acme.example" in alex.text("set the billing contact to ops@acme.example")
    fixed = alex.text("sorry, make that payables@acme.example instead")
    assert "payables@acme.example" in fixed, fixed
    assert contact_email(billing_db) == "payables@acme.example"


def test_cancel_at_the_address_question_sends_nothing(chat, billing_db, stack):
    before = set((stack.data_dir / "outbox").glob("*.eml"))  # the outbox is the session's
    alex = chat("alex")
    asked = alex.text("email the latest invoice")
    if "did you mean" in asked.lower():  # sharing needs the bar of a change: a yes takes the first suggestion
        assert alex.buttons()[0] == "Send an invoice to someone", alex.last
        asked = alex.text("yes")
    assert re.search(r"who should i send invoice inv-\d+ to", asked.lower()), asked
    stopped = alex.text("cancel")
    assert "won't send" in stopped, stopped
    assert set((stack.data_dir / "outbox").glob("*.eml")) == before


def test_a_yes_at_the_address_question_asks_it_again_and_the_form_goes_on(chat, billing_db, stack):
    before = set((stack.data_dir / "outbox").glob("*.eml"))  # the outbox is the session's
    alex = chat("alex")
    assert re.search(r"who should i send invoice inv-\d+ to", alex.text("email the latest invoice").lower())
    again = alex.text("do it")
    assert re.search(r"who should i send invoice inv-\d+ to", again.lower()), again
    sent = alex.text("ap@acme.example")
    assert "INV-1042" in sent and "ap@acme.example" in sent, sent
    assert len(set((stack.data_dir / "outbox").glob("*.eml")) - before) == 1


def test_an_unreadable_email_gets_one_message_that_asks_again(chat, billing_db, stack):
    """The billing contact and the invoice's recipient: what is wrong and the question again are one
    message, not the complaint followed by the form's question."""
    priya = chat("priya")
    asked = priya.text("update the billing contact email")
    assert "email" in asked.lower(), asked
    priya.say("ap at acme dot example")
    assert len(priya.last) == 1 and "email address" in priya.last[0]["text"], priya.last
    done = priya.text("ap-team@acme.example")
    assert "ap-team@acme.example" in done, done

    alex = chat("alex")
    asked = alex.text("share INV-1041")
    assert re.search(r"who should i send invoice inv-\d+ to", asked.lower()), asked
    alex.say("bob at acme dot example")
    assert len(alex.last) == 1 and "email address" in alex.last[0]["text"], alex.last


def test_the_overdue_invoice_is_the_overdue_one_not_the_latest(chat, billing_db):
    alex = chat("alex")
    shown = alex.text("what was on the overdue invoice")
    assert "INV-1041" in shown and "INV-1042" not in shown, shown
    opened = alex.text("open the last invoice")  # "open" as a verb is no status
    assert "INV-1042" in opened, opened


def test_a_card_question_while_a_quote_waits_shows_the_quote_again(chat, billing_db):
    alex = chat("alex")
    alex.text("add 2 dialer licenses")
    said = alex.text("also how do i update the card we pay with")
    assert "/pay/card/" in said and "Yes" in alex.buttons(), (said, alex.buttons())
    done = alex.text("yes")
    assert re.search(r"ORD-\d+", done), done


def test_a_whole_address_in_one_message_is_saved_without_more_questions(chat, billing_db):
    alex = chat("alex")
    said = alex.text("we moved, new billing address is 200 Congress Ave, Suite 300, Austin, TX 78701, US")
    assert "200 Congress Ave" in said and "street" not in said.lower(), said
    with billing_db.session() as s:
        profile = s.scalar(
            select(BillingProfile).join(Org, BillingProfile.org_id == Org.id).where(Org.name == "Acme Corp")
        )
        assert (profile.address_line1, profile.address_line2, profile.city, profile.region, profile.postal_code) == (
            "200 Congress Ave",
            "Suite 300",
            "Austin",
            "TX",
            "78701",
        )
