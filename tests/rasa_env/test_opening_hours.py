"""bot/opening_hours.py: callback slots and the next opening follow the queue's hours and the
customer's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.opening_hours import QueueHours, Window, parse_iso_window, when_label

NY, DUBLIN, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Europe/Dublin"), ZoneInfo("Asia/Tokyo")
SALES = QueueHours.from_env("sales", {})
SUPPORT = QueueHours.from_env("support", {})


def labels(queue: QueueHours, now: datetime) -> list[str]:
    return [w.label(now) for w in queue.slots(now)]


def test_saturday_evening_offers_monday():
    now = datetime(2027, 3, 6, 19, 30, tzinfo=NY)  # a Saturday
    assert not SALES.is_open(now)
    assert labels(SALES, now) == ["Mon Mar 8, 9 am–12 pm", "Mon Mar 8, 12–5 pm", "Tue Mar 9, 9 am–12 pm"]
    assert when_label(SALES.next_opening(now), now) == "on Monday at 9 am"


def test_friday_late_offers_monday_and_a_short_rest_of_day_is_skipped():
    now = datetime(2027, 3, 5, 16, 20, tzinfo=NY)  # Friday, 40 minutes before sales closes
    assert labels(SALES, now)[0] == "Mon Mar 8, 9 am–12 pm"


def test_a_weekday_morning_offers_today_from_the_next_half_hour():
    now = datetime(2027, 3, 3, 10, 5, tzinfo=NY)  # Wednesday
    assert labels(SUPPORT, now) == ["Today 10:30 am–12 pm", "Today 12–5 pm", "Today 5–8 pm"]
    assert SUPPORT.is_open(now) and SUPPORT.next_opening(now) == now


def test_another_time_zone_sees_the_hours_in_its_own_time():
    now = datetime(2027, 3, 3, 10, 0, tzinfo=DUBLIN)  # 5 am in New York
    assert labels(SUPPORT, now)[0] == "Today 1–5 pm"  # 8 am-12 pm New York
    late = datetime(2027, 3, 3, 21, 0, tzinfo=TOKYO)  # 7 am in New York
    assert labels(SUPPORT, late)[0] == "Today 10 pm–Thu 2 am"


def test_holidays_close_the_day():
    queue = QueueHours.from_env("sales", {"HANDOFF_SALES_HOLIDAYS": "2027-03-08"})
    now = datetime(2027, 3, 6, 19, 30, tzinfo=NY)
    assert labels(queue, now)[0] == "Tue Mar 9, 9 am–12 pm"


def test_overlap_keeps_the_open_part_of_a_wish():
    sunday = Window(datetime(2027, 3, 7, 9, tzinfo=NY), datetime(2027, 3, 7, 12, tzinfo=NY))
    assert SALES.overlap(sunday) is None
    early = Window(datetime(2027, 3, 8, 7, tzinfo=NY), datetime(2027, 3, 8, 10, tzinfo=NY))
    assert SALES.overlap(early) == Window(datetime(2027, 3, 8, 9, tzinfo=NY), datetime(2027, 3, 8, 10, tzinfo=NY))


def test_a_slot_payload_reads_back():
    window = SALES.slots(datetime(2027, 3, 6, 19, 30, tzinfo=NY))[0]
    assert parse_iso_window(window.payload()) == window


def test_no_slot_payload_reads_as_a_card_number():
    """Every channel redacts card numbers first; a slot's payload must come through whole, whatever
    the day (a "/" between the times made some dates' digits a valid card number)."""
    from bot.nlu.cards import redact

    start = datetime(2027, 1, 1, 19, 30, tzinfo=NY)
    for day in range(400):
        for window in SALES.slots(start + timedelta(days=day)):
            assert redact(window.payload()) == (window.payload(), 0), window.payload()


def test_a_slot_button_says_inform_itself():
    """A slot button's payload names its intent: the text of a bare window was left to the
    classifier, which took a pressed slot for a "no" (the form stopped and nothing was booked)."""
    from bot.actions.callbacks import slot_buttons

    saturday_evening = datetime(2027, 3, 6, 19, 30, tzinfo=NY)
    for button, window in zip(slot_buttons(SALES, saturday_evening), SALES.slots(saturday_evening), strict=True):
        assert button["payload"].startswith("/inform{"), button
        assert parse_iso_window(button["payload"]) == window
