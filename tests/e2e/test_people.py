"""People (issue 18), end to end: support cases, leads, callbacks and permission follow-ups use what
the customer already said; one message per invalid answer; callbacks follow the queue's opening
hours in the customer's time zone; nothing is opened unless the customer chose it.

"Now" is fixed per conversation through the message metadata's ``now`` (honoured only under
APP_ENV=development, as the test stack runs: bot/actions/_clock.py). The queues' hours are the
defaults every service reads (HANDOFF_SALES_HOURS Mon-Fri 09:00-17:00, HANDOFF_SUPPORT_HOURS
Mon-Fri 08:00-20:00, both America/New_York)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.billing.adapters.orm import CallbackRequest, Handoff, SupportCase
from tests.billing.helpers import count

NEW_YORK = ZoneInfo("America/New_York")
DUBLIN = ZoneInfo("Europe/Dublin")


def upcoming(weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """A ``weekday`` (0 = Monday) at least 8 days ahead, so billing (on the real clock) takes the
    callback windows offered then as future ones; never around Christmas or New Year."""
    day = date.today() + timedelta(days=8)
    while day.weekday() != weekday or (day.month, day.day) >= (12, 20) or (day.month, day.day) <= (1, 3):
        day += timedelta(days=1)
    return datetime.combine(day, at, tz)


def at(conversation, now: datetime):
    conversation.metadata["now"] = now.isoformat()
    return conversation


def cases(billing_db) -> list[SupportCase]:
    with billing_db.session() as s:
        return list(s.scalars(select(SupportCase).order_by(SupportCase.id)))


def handoffs(billing_db) -> list[Handoff]:
    with billing_db.session() as s:
        return list(s.scalars(select(Handoff).order_by(Handoff.id)))


def callbacks(billing_db) -> list[CallbackRequest]:
    with billing_db.session() as s:
        return list(s.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))


# -- support cases -------------------------------------------------------------------------------


def test_a_support_case_takes_its_description_from_the_request(chat, billing_db):
    alex = chat("alex")
    said = alex.text("open a support case: invoice INV-1042 charged us for 45 seats but we only have 40")
    assert re.search(r"CS-\d+", said) and "describe" not in said.lower(), said
    [case] = cases(billing_db)
    assert "INV-1042" in case.description and "45 seats" in case.description, case.description
    assert "open a support case" not in case.description.lower(), case.description


def test_a_complaint_is_the_description_and_a_restatement_goes_to_the_same_case(chat, billing_db):
    alex = chat("alex")
    said = alex.text("our last invoice charged us twice, this is wrong")
    number = re.search(r"CS-\d+", said)
    assert number and "describe" not in said.lower(), said
    again = alex.text("I just told you, INV-1046 was charged twice")
    assert number.group() in again, again
    [case] = cases(billing_db)  # no second case
    assert "charged us twice" in case.description and "INV-1046" in case.description, case.description
    assert "i just told you" not in case.description.lower(), case.description


def test_asking_how_to_reach_support_is_no_description_and_opens_nothing(chat, billing_db):
    """A question about how to reach support ("what's the support phone number?") is not a problem to
    open a case about: it gets the number (and the offer of a case), and nothing is opened."""
    for question in (
        "whats the support phone number",
        "how do I contact your support team?",
        "what are support's hours",
        "is there an email address for support",
    ):
        tom = chat("tom")
        said = tom.text(question)
        assert "1-800-667-6389" in said and not re.search(r"CS-\d+", said), (question, said)
        assert cases(billing_db) == [], question


def test_asking_when_support_is_open_gets_its_hours_and_opens_nothing(chat, billing_db):
    """When support is open is no problem to open a case about either: the answer, the hours FAQ's or
    the support form's question, states the support queue's hours (Mon-Fri 08:00-20:00, New York)."""
    for question in (
        "when is support available",
        "is customer support open on saturdays",
        "till what time can I reach support today?",
    ):
        tom = chat("tom")
        said = tom.text(question)
        assert "Mon–Fri 8 am–8 pm (America/New_York)" in said and not re.search(r"CS-\d+", said), (question, said)
        assert cases(billing_db) == [], question


def test_a_bare_request_asks_once_and_i_just_told_you_keeps_what_was_said(chat, billing_db):
    alex = chat("alex")
    asked = alex.text("I need to open a support ticket")
    assert "describe" in asked.lower(), asked
    said = alex.text("I just told you, INV-1046 was charged twice")
    assert re.search(r"CS-\d+", said), said
    [case] = cases(billing_db)
    assert case.description.startswith("INV-1046 was charged twice"), case.description


# -- leads ---------------------------------------------------------------------------------------


def test_a_visitor_who_says_everything_at_once_is_only_asked_the_optional_phone(chat, billing_db):
    visitor = chat(None)
    asked = visitor.text(
        "Hi, I'm Dana Smith from Globex (dana@globex.example). We're looking at Enterprise "
        "for 60 people and I'd like someone from sales to contact me"
    )
    assert "phone" in asked.lower() and "name" not in asked.lower() and "email" not in asked.lower(), asked
    assert "company" not in asked.lower(), asked
    done = visitor.text("no phone, email is fine")
    assert re.search(r"HO-\d+", done) and "phone number" not in done.lower(), done
    [handoff] = handoffs(billing_db)
    assert (handoff.lead_name, handoff.lead_company, handoff.lead_email, handoff.lead_phone) == (
        "Dana Smith",
        "Globex",
        "dana@globex.example",
        None,
    )


def test_several_answers_in_one_message_fill_several_details(chat, billing_db):
    visitor = chat(None)
    asked = visitor.text("can I talk to someone in sales?")
    assert "name" in asked.lower(), asked
    asked = visitor.text("Sam Carter, sam.carter@initech.example, Initech")
    assert "phone" in asked.lower() and "company" not in asked.lower(), asked
    done = visitor.text("+44 20 7946 0958")
    assert re.search(r"HO-\d+", done), done
    [handoff] = handoffs(billing_db)
    assert (handoff.lead_name, handoff.lead_company, handoff.lead_email, handoff.lead_phone) == (
        "Sam Carter",
        "Initech",
        "sam.carter@initech.example",
        "+442079460958",
    )


def test_a_correction_mid_form_replaces_the_detail_and_the_form_goes_on(chat, billing_db):
    visitor = chat(None)
    visitor.text("I'd like to talk to a sales rep")
    visitor.text("Dana Smith")
    asked = visitor.text("dana@globex.example")
    assert "company" in asked.lower(), asked
    asked = visitor.text("actually my email is dana.smith@globex.example")
    assert "company" in asked.lower() and "name" not in asked.lower(), asked
    visitor.text("Globex")
    done = visitor.text("skip")
    assert re.search(r"HO-\d+", done), done
    [handoff] = handoffs(billing_db)
    assert handoff.lead_email == "dana.smith@globex.example" and handoff.lead_company == "Globex"


def test_an_invalid_email_gets_one_message_that_asks_again(chat, billing_db):
    visitor = chat(None)
    visitor.text("talk to a person please")
    visitor.text("Jane Doe")
    replies = visitor.say("jane at example")
    assert len(replies) == 1, replies
    said = replies[0]["text"]
    assert "email" in said.lower() and "?" in said and "Thanks!" not in said, said
    assert "company" in visitor.text("jane@example.com").lower()


def test_an_invalid_phone_gets_one_message_and_rather_not_skips_it(chat, billing_db):
    visitor = chat(None)
    visitor.text("talk to sales")
    visitor.text("Jane Doe, jane@example.com, Example Inc")
    replies = visitor.say("12345")
    assert len(replies) == 1, replies
    said = replies[0]["text"]
    assert "phone" in said.lower() and "?" in said, said
    done = visitor.text("I'd rather not")
    assert re.search(r"HO-\d+", done), done
    assert handoffs(billing_db)[0].lead_phone is None


# -- permissions: who can grant it ---------------------------------------------------------------


def test_who_can_give_me_that_permission_names_the_admins(chat, billing_db):
    sam = chat("sam")
    refused = sam.text("pay my open invoice")
    assert "Alex Rivera" in refused, refused
    said = sam.text("who can give me that permission?")
    assert "Alex Rivera" in said and "ask one of your org's system administrators" not in said.lower(), said


def test_who_is_our_admin_asks_billing(chat, billing_db):
    said = chat("sam").text("who is our admin?")
    assert "Alex Rivera" in said, said


# -- callbacks and opening hours ---------------------------------------------------------------------


def slot_windows(conversation) -> list[str]:
    return conversation.buttons()


def test_saturday_evening_in_new_york_offers_monday(chat, billing_db):
    saturday = upcoming(5, time(19, 30), NEW_YORK)
    alex = at(chat("alex"), saturday)
    alex.text("please call me back")
    asked = alex.text("+1 415 555 0100")
    offered = alex.buttons()
    assert offered and all("Mon" in b for b in offered), (asked, offered)  # support: 8 am-12, 12-5, 5-8 pm
    assert "tomorrow" not in asked.lower() and "Sun" not in " ".join(offered), (asked, offered)
    refused = alex.text("tomorrow morning")  # Sunday: closed
    assert "closed" in refused.lower() and all("Mon" in b for b in alex.buttons()), refused
    done = alex.press("Mon")
    assert "call" in done.lower(), done
    [callback] = callbacks(billing_db)
    start = callback.window_start.replace(tzinfo=callback.window_start.tzinfo or ZoneInfo("UTC")).astimezone(NEW_YORK)
    assert start.date() == saturday.date() + timedelta(days=2) and start.hour >= 8, start


def test_a_visitor_late_on_friday_is_offered_monday_for_sales(chat, billing_db):
    friday = upcoming(4, time(16, 45), NEW_YORK)
    visitor = at(chat(None), friday)
    visitor.metadata["timezone"] = "America/New_York"
    visitor.text("can someone call me back?")
    visitor.text("Dana Smith")
    asked = visitor.text("+1 212 555 0142")
    offered = visitor.buttons()
    assert offered and offered[0].startswith("Mon"), (asked, offered)
    assert not any(day in " ".join(offered) for day in ("Today", "Tomorrow", "Sat", "Sun")), offered
    visitor.press("Mon")
    [callback] = callbacks(billing_db)
    start = callback.window_start.replace(tzinfo=callback.window_start.tzinfo or ZoneInfo("UTC")).astimezone(NEW_YORK)
    assert callback.queue == "sales" and start.weekday() == 0 and 9 <= start.hour < 17, start


def test_a_weekday_morning_offers_today(chat, billing_db):
    wednesday = upcoming(2, time(10, 0), NEW_YORK)
    alex = at(chat("alex"), wednesday)
    asked = alex.text("call me back at +1 415 555 0100")
    assert "which phone" not in asked.lower(), asked  # the number was in the request
    offered = alex.buttons()
    assert offered and offered[0].startswith("Today"), (asked, offered)
    alex.press("Today")
    [callback] = callbacks(billing_db)
    start = callback.window_start.replace(tzinfo=callback.window_start.tzinfo or ZoneInfo("UTC")).astimezone(NEW_YORK)
    assert start.date() == wednesday.date() and start >= wednesday, start


def test_a_customer_in_dublin_is_offered_support_hours_in_dublin_time(chat, billing_db):
    wednesday = upcoming(2, time(10, 0), DUBLIN)  # 5 am in New York: support opens at 8 (1 pm here)
    tom = at(chat("tom"), wednesday)
    tom.text("I'd like a call back")
    asked = tom.text("+353 1 555 0199")
    assert "Europe/Dublin" in asked, asked
    offered = tom.buttons()
    assert offered and offered[0] == "Today 1–5 pm", (asked, offered)
    tom.press("Today")
    [callback] = callbacks(billing_db)
    start = callback.window_start.replace(tzinfo=callback.window_start.tzinfo or ZoneInfo("UTC")).astimezone(DUBLIN)
    assert start.date() == wednesday.date() and start.hour >= 13 and callback.timezone == "Europe/Dublin", start


def test_when_will_someone_reply_follows_the_opening_hours(chat, billing_db):
    saturday = upcoming(5, time(19, 30), NEW_YORK)
    alex = at(chat("alex"), saturday)
    opened = alex.text("I want to talk to a real person")
    assert re.search(r"HO-\d+", opened), opened
    said = alex.text("when will someone reply?")
    assert "Monday" in said and "tomorrow" not in said.lower(), said
    assert len(handoffs(billing_db)) == 1


# -- nothing opened without the customer choosing it -----------------------------------------------


def test_frustration_offers_a_person_and_opens_nothing(chat, billing_db):
    alex = chat("alex")
    said = alex.text("ugh this is so frustrating")
    assert count(billing_db, Handoff) == 0 and count(billing_db, SupportCase) == 0, said
    assert count(billing_db, CallbackRequest) == 0


def test_a_second_ask_for_a_person_does_not_open_a_second_handoff(chat, billing_db):
    alex = chat("alex")
    first = alex.text("can I talk to a human?")
    number = re.search(r"HO-\d+", first)
    assert number, first
    again = alex.text("I want to speak to a person")
    assert number.group() in again, again
    assert count(billing_db, Handoff) == 1


def test_a_visitors_callback_after_a_lead_asks_neither_name_nor_phone_again(chat, billing_db):
    wednesday = upcoming(2, time(11, 0), NEW_YORK)
    visitor = at(chat(None), wednesday)
    visitor.metadata["timezone"] = "America/New_York"
    visitor.text("I'd like to talk to sales")
    visitor.text("Dana Smith, dana@globex.example, Globex")
    done = visitor.text("+1 212 555 0142")
    assert re.search(r"HO-\d+", done), done
    asked = visitor.text("/request_callback")
    assert "name" not in asked.lower() and "which phone" not in asked.lower() and visitor.buttons(), asked
    visitor.press("Today")
    [callback] = callbacks(billing_db)
    assert callback.phone == "+12125550142" and callback.name == "Dana Smith" and callback.queue == "sales"
