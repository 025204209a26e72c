"""Follow-ups that use what was just discussed, and replies that fit the request (issue 18, part
"context"): pricing follow-ups ("and enterprise?", "for 30 people"), reading the billing details,
complaints answered with empathy and a person on offer, an account executive means sales, the
reps' real opening hours, and no turn left without a reply."""

from __future__ import annotations

from bot.billing.adapters.orm import Handoff, Order
from tests.billing.helpers import count

# -- pricing follow-ups: the product or quantity of the previous answer is kept --------------------


def test_a_bare_product_keeps_the_quantity_just_priced(chat):
    visitor = chat(None, channel="widget")
    first = visitor.text("what does professional cost for 40 seats")
    assert "Professional" in first and "$3,200.00" in first, first
    follow = visitor.text("and enterprise?")
    assert "Enterprise" in follow and "$6,600.00" in follow, follow  # 40 × $165


def test_a_bare_quantity_keeps_the_product_just_priced(chat):
    visitor = chat(None, channel="widget")
    unit = visitor.text("how much does dialer cost")
    assert "Dialer" in unit and "$75.00" in unit, unit
    follow = visitor.text("what about 12 users")
    assert "Dialer" in follow and "$900.00" in follow, follow
    again = visitor.text("ok and 20?")
    assert "$1,500.00" in again, again


def test_then_phrasing_and_of_those(chat, billing_db):
    olivia = chat("olivia")
    unit = olivia.text("what's the price of inbox")
    assert "Inbox" in unit, unit
    follow = olivia.text("for 8 people then")
    assert "Inbox" in follow and "8" in follow, follow
    other = olivia.text("how much for professional then")
    assert "Professional" in other and "8 users" in other, other
    assert count(billing_db, Order) == 0


# -- billing details: a read shows the details on file, not the subscription ------------------------


def test_asking_what_billing_details_are_on_file_shows_them(chat):
    alex = chat("alex")
    for question in (
        "which billing address have you got for us?",
        "who gets our invoices at the moment",
        "show me the billing info on file",
    ):
        reply = alex.text(question)
        assert "500 Market Street" in reply and "ap@acme.example" in reply, (question, reply)


def test_invoices_going_to_someone_else_asks_for_the_email(chat):
    alex = chat("alex")
    reply = alex.text("from now on the invoices need to be sent to a different person")
    assert reply.strip() and "email" in reply.lower(), reply


def test_no_turn_is_left_without_a_reply(chat):
    """Any turn says something, whatever the classifier made of it."""
    alex = chat("alex")
    for line in (
        "invoices should be going to our finance team now",
        "hmm",
        "ok",
        "whatever",
        "???",
        "the one from last month",
        "and?",
        "no idea",
        "this",
    ):
        reply = alex.say(line)
        assert any((m.get("text") or "").strip() for m in reply), (line, reply)


# -- complaints are not a "no": empathy and a person on offer, nothing opened -------------------------


def test_a_complaint_gets_empathy_and_the_choice_of_a_person(chat, billing_db):
    visitor = chat(None, channel="widget")
    reply = visitor.text("this is a waste of my time, you're not helping at all")
    assert "sorry" in reply.lower(), reply
    assert any("person" in b.lower() or "sales" in b.lower() for b in visitor.buttons()), visitor.last
    assert count(billing_db, Handoff) == 0


def test_a_customer_complaint_opens_nothing_unless_chosen(chat, billing_db):
    alex = chat("alex")
    alex.text("add 2 dialer licenses")
    reply = alex.text("ugh this bot is so frustrating")
    assert "sorry" in reply.lower() and "Talk to a person" in alex.buttons(), reply
    assert count(billing_db, Handoff) == 0 and count(billing_db, Order) == 0
    handed = alex.press("Talk to a person")
    assert "HO-" in handed, handed
    assert count(billing_db, Handoff) == 1 and count(billing_db, Order) == 0


# -- an account executive is sales ---------------------------------------------------------------


def test_an_essentials_admin_asking_for_the_account_exec_reaches_sales(chat, billing_db):
    from sqlalchemy import select

    olivia = chat("olivia")
    reply = olivia.text("i'd like to speak with our account executive")
    assert "HO-" in reply or "sales" in reply.lower(), reply
    with billing_db.session() as s:
        queues = list(s.scalars(select(Handoff.queue)))
    assert queues == ["sales"], queues


# -- the reps' hours are the queues' real opening hours --------------------------------------------


def test_the_reps_hours_are_the_queues_opening_hours(chat):
    visitor = chat(None, channel="widget")
    reply = visitor.text("what time can i reach a human")
    assert "Mon" in reply and "9 am" in reply and "5 pm" in reply, reply  # HANDOFF_SALES_HOURS default
    assert "standing by" not in reply, reply


# -- a question or a thank-you in passing keeps the waiting quote on screen -------------------------


def test_a_price_question_and_thanks_during_a_quote_show_it_again(chat, billing_db):
    alex = chat("alex")
    alex.text("add 3 dialer licenses")
    price = alex.text("hang on, what does inbox cost per user?")
    assert "Inbox" in price and "Dialer" in price and "Yes" in alex.buttons(), price
    thanks = alex.text("thank you")
    assert "Dialer" in thanks and "Yes" in alex.buttons(), thanks
    done = alex.press("Yes")
    assert "ORD-" in done and count(billing_db, Order) == 1, done
