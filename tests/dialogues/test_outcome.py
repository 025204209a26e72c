"""The dialogue driver's own checks, without a stack: the outcome against a state diff (missing
changes and wrong actions), the opening-hours check of callbacks, the reply checks and the script
format."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.gateway.handoff.queues import Queue, parse_hours
from tests.dialogues.driver import check_reply
from tests.dialogues.outcome import check, outside_hours
from tests.dialogues.scripts import ScriptError, _check, load

NY = ZoneInfo("America/New_York")
SALES = {
    "sales": Queue("sales", "", parse_hours("Mon-Fri 09:00-17:00"), "America/New_York", frozenset({date(2026, 12, 25)}))
}


def test_an_order_as_asked_passes(tmp_path):
    diff = {"licenses": {"Acme Corp/enterprise": 5}, "orders": 1, "invoices": 1}
    verdict = check({"licenses": {"Acme Corp/enterprise": 5}, "orders": 1}, diff, tmp_path, None)
    assert not verdict.problems and not verdict.wrong


def test_another_quantity_or_line_is_a_wrong_action_and_a_missing_one_a_problem(tmp_path):
    diff = {"licenses": {"Acme Corp/analytics": 6}, "orders": 1, "invoices": 1}
    verdict = check({"licenses": {"Acme Corp/field_service": 6}, "orders": 1}, diff, tmp_path, None)
    assert verdict.wrong == ["licenses Acme Corp/analytics: changed by +6, expected +0"]
    assert verdict.problems == ["licenses Acme Corp/field_service: changed by +0, expected +6"]


def test_nothing_listed_means_nothing_may_change(tmp_path):
    diff = {
        "handoffs": [{"number": "HO-3001", "queue": "sales", "reason": "Cancellation request"}],
        "paid": ["INV-1041"],
        "payments": 1,
    }
    verdict = check({}, diff, tmp_path, None)
    assert len(verdict.wrong) == 3 and not verdict.problems


def test_record_fields_and_words(tmp_path):
    diff = {
        "cases": [{"number": "CS-2001", "subject": "Billing", "description": "Please describe"}],
        "handoffs": [{"number": "HO-3001", "queue": "support", "reason": "x", "lead_email": None}],
    }
    verdict = check({"cases": {"description_any": ["45 seats"]}, "handoffs": {"queue": "sales"}}, diff, tmp_path, None)
    assert any("45 seats" in p for p in verdict.problems) and any("'support'" in p for p in verdict.problems)
    assert not verdict.wrong


def test_billing_fields_must_be_listed_and_match(tmp_path):
    diff = {"billing": {"Acme Corp": {"contact_email": "ops@acme.example", "city": "Austin"}}}
    verdict = check({"billing": {"Acme Corp": {"contact_email": "payables@acme.example"}}}, diff, tmp_path, None)
    assert len(verdict.wrong) == 2 and not verdict.problems


def test_emails_by_recipient(tmp_path):
    (tmp_path / "1.eml").write_text("From: billing@vendor.example\nTo: ap@acme.example, bob@acme.example\n\nhi")
    ok = check({"emails": ["ap@acme.example", "bob@acme.example"]}, {"emails": ["1.eml"]}, tmp_path, None)
    assert not ok.problems and not ok.wrong
    missing = check({"emails": ["jane@acme.example"]}, {"emails": ["1.eml"]}, tmp_path, None)
    assert missing.problems and not missing.wrong
    assert check({}, {"emails": ["1.eml"]}, tmp_path, None).wrong


def callback(start: datetime, end: datetime) -> dict:
    return {"number": "CB-4001", "queue": "sales", "start": start, "end": end}


@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        (datetime(2026, 12, 7, 9, tzinfo=NY), datetime(2026, 12, 7, 12, tzinfo=NY), True),  # Monday morning
        (datetime(2026, 12, 7, 14, tzinfo=NY), datetime(2026, 12, 7, 17, tzinfo=NY), True),  # until closing
        (datetime(2026, 12, 6, 9, tzinfo=NY), datetime(2026, 12, 6, 12, tzinfo=NY), False),  # Sunday
        (datetime(2026, 12, 7, 16, tzinfo=NY), datetime(2026, 12, 7, 18, tzinfo=NY), False),  # past closing
        (datetime(2026, 12, 25, 10, tzinfo=NY), datetime(2026, 12, 25, 11, tzinfo=NY), False),  # a holiday
        # 9-12 in Dublin on a Monday is 4-7 am in New York
        (
            datetime(2026, 12, 7, 9, tzinfo=ZoneInfo("Europe/Dublin")),
            datetime(2026, 12, 7, 12, tzinfo=ZoneInfo("Europe/Dublin")),
            False,
        ),
        (datetime(2026, 12, 7, 15, tzinfo=timezone.utc), datetime(2026, 12, 7, 16, tzinfo=timezone.utc), True),
    ],
)
def test_callbacks_lie_within_the_queues_hours(start, end, inside):
    assert (outside_hours(callback(start, end), SALES) is None) is inside


def test_a_callback_outside_hours_is_a_problem(tmp_path):
    diff = {"callbacks": [callback(datetime(2026, 12, 6, 14, tzinfo=NY), datetime(2026, 12, 6, 17, tzinfo=NY))]}
    verdict = check({"callbacks": 1}, diff, tmp_path, SALES)
    assert verdict.problems and "outside sales's hours" in verdict.problems[0]


def test_reply_checks():
    messages = [{"text": "That doesn't look like a phone number."}, {"text": "Which phone number should we call?"}]
    turn = {"expect_any": ["phone"], "expect_none": ["When"], "max_messages": 1, "buttons_any": ["Yes"]}
    problems = check_reply(turn, messages, ["No"])
    assert len(problems) == 2 and "2 messages" in problems[0] and "no button" in problems[1]
    assert check_reply({"expect_all": ["INV-1042", "$452.05"]}, [{"text": "*INV-1042*: $452.05"}], []) == []


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "x", "turns": []},
        {"id": "x", "who": "bob", "turns": [{"user": "hi"}]},
        {"id": "x", "turns": [{"user": "hi", "press": "Yes"}]},
        {"id": "x", "turns": [{"user": "hi", "expect": ["a"]}]},
        {"id": "x", "turns": [{"user": "hi"}], "outcome": {"refunds": 1}},
        {"id": "x", "turns": [{"user": "hi", "optional": True}]},
    ],
)
def test_malformed_scripts_are_refused(raw):
    with pytest.raises(ScriptError):
        _check(raw, "t.yml")


def test_the_scripts_load_and_cover_every_role():
    scripts = load()
    assert len(scripts) >= 160
    assert {s.role for s in scripts} == {"enterprise_admin", "essentials_admin", "no_manage_billing", "visitor"}


def test_amounts_are_read_from_the_seeded_data_of_the_day(database):
    """The seed prorates from the day it runs, so INV-1042's total moves from one day to the next
    (it did between 2026-12-06 and 12-07, failing every script that wrote it down): the scripts name
    amounts ({INV-1042}, {owed Acme Corp}) and the driver reads them from the database it seeded."""
    from bot.billing.clock import FixedClock
    from tests.conftest import reset
    from tests.dialogues.driver import amounts, named

    seen = []
    before = database.clock
    try:
        for day in (datetime(2026, 12, 6, 15, tzinfo=timezone.utc), datetime(2026, 12, 7, 15, tzinfo=timezone.utc)):
            database.clock = FixedClock(day)
            reset(database)
            seen.append(amounts(database))
    finally:
        database.clock = before
        reset(database)
    assert seen[0]["INV-1042"] != seen[1]["INV-1042"]
    for values in seen:
        owed = sum(int(values[n].strip("$").replace(",", "").replace(".", "")) for n in ("INV-1041", "INV-1042"))
        assert values["owed Acme Corp"] == f"${owed // 100:,}.{owed % 100:02d}"
    turn = {"user": "how much do we owe?", "expect_all": ["{owed Acme Corp}", "INV-1042"], "buttons_any": ["{x}"]}
    assert named(turn, seen[1]) == {**turn, "expect_all": [seen[1]["owed Acme Corp"], "INV-1042"]}
    with pytest.raises(KeyError, match="INV-9999"):
        named({"expect_any": ["{INV-9999}"]}, seen[1])
