"""Block Kit rendering, Slack text decoding and the account-data rule, as plain functions."""

from __future__ import annotations

import pytest

from bot.gateway.slack import blocks
from bot.gateway.slack.events import message_turn
from bot.gateway.slack.privacy import is_private

QUOTE = (
    "Add 5 Enterprise licenses: $165.00 each per month.\n"
    "• Charged now: $206.25, prorated for Nov 27, 2026 to Feb 28, 2027 (93 of 365 days)\n"
    "• Enterprise afterwards: 45\n"
    "• New monthly total: $8,450.00\n"
    "Quote Q-1001, valid until 17:05 UTC. Shall I place the order?"
)


@pytest.mark.parametrize(
    "slack, plain",
    [
        ("<@UBOT> add 5 licenses", "add 5 licenses"),
        ("email it to <mailto:ap@acme.example|ap@acme.example>", "email it to ap@acme.example"),
        (
            "see <https://vendor.example/pricing|the pricing page> &amp; <https://x.example>",
            "see the pricing page & https://x.example",
        ),
        ("ask <@U123|priya> in <#C1|billing> <!here>", "ask @priya in #billing @here"),
        ("a &lt;b&gt; c", "a <b> c"),
    ],
)
def test_slack_text_is_read_as_people_wrote_it(slack, plain):
    assert blocks.from_slack(slack, "UBOT") == plain


@pytest.mark.parametrize(
    "slack, relayed",
    [
        (
            "<https://acme.example/pricing?a=1&amp;b=2|our pricing>",
            "[our pricing](https://acme.example/pricing?a=1&b=2)",
        ),
        ("<HTTPS://acme.example/wiki/A_(b)|wiki>", "[wiki](https://acme.example/wiki/A_%28b%29)"),
        ("<https://acme.example/docs>", "[https://acme.example/docs](https://acme.example/docs)"),
        ("<mailto:ap@acme.example|write to us>", "[write to us](mailto:ap@acme.example)"),
        ("<mailto:ap@acme.example>", "[ap@acme.example](mailto:ap@acme.example)"),
        ("<tel:+18006676389|1-800-667-6389>", "[1-800-667-6389](tel:+18006676389)"),
        ("<tel:+14155550199>", "[+14155550199](tel:+14155550199)"),
        ("<https://x.example|[a] label>", "[(a) label](https://x.example)"),
        ("<javascript:alert(1)|click me>", "click me"),  # other schemes: the text only
        ("<data:text/html;base64,PHNjcmlwdD4=|open>", "open"),
        ("<ftp://files.example/x|the files>", "the files"),
        ("<https:relative|odd>", "odd"),  # http(s) needs a host
        ("<mailto:nobody|mail>", "mail"),
        ("<tel:call-me|call>", "call"),
        (
            "ask <@U123> or <@U456|dana> in <#C1|billing> <!here> <!subteam^S1|@sales>",
            "ask @U123 or @dana in #billing @here @sales",
        ),
    ],
)
def test_a_reps_links_to_safe_places_stay_links(slack, relayed):
    assert blocks.from_slack(slack, "UBOT", links=True) == relayed
    # ... and reach a Slack customer as Slack links again
    if relayed.startswith("["):
        label, url = relayed[1:-1].split("](")
        assert blocks.to_mrkdwn(relayed) == f"<{url.replace('&', '&amp;')}|{label}>"


def test_mrkdwn_is_escaped_and_markdown_converted():
    assert blocks.to_mrkdwn("**Total** <$5 & more> [pay](https://p.example/x?a=1&b=2)") == (
        "*Total* &lt;$5 &amp; more&gt; <https://p.example/x?a=1&amp;b=2|pay>"
    )


YES_Q1001 = '/affirm{"confirms":"quote:Q-1001"}'
NO_Q1001 = '/deny{"confirms":"quote:Q-1001"}'


def test_a_money_confirmation_is_primary_and_danger_behind_a_confirm_dialog():
    message = {"text": QUOTE, "buttons": [{"title": "Yes", "payload": YES_Q1001}, {"title": "No", "payload": NO_Q1001}]}
    rendered = blocks.message_blocks(message, for_user="UALEX")
    assert rendered[0]["type"] == "section" and "Q-1001" in rendered[0]["text"]["text"]
    actions = rendered[-1]
    assert actions["type"] == "actions" and blocks.button_owner(actions["block_id"]) == "UALEX"
    yes, no = actions["elements"]
    # the value is the payload as the bot wrote it: the click confirms that quote and no other
    assert (yes["style"], yes["value"], no["style"], no["value"]) == ("primary", YES_Q1001, "danger", NO_Q1001)
    asked = yes["confirm"]["text"]["text"]
    assert "Add 5 Enterprise licenses" in asked and "Charged now: $206.25" in asked and "place the order" in asked
    assert len(asked) <= 300 and "confirm" not in no


def test_a_yes_no_that_confirms_nothing_is_no_money_confirmation():
    """The handoff's "Shall I connect you?" (plain /affirm, /deny) gets no money styling or dialog."""
    rendered = blocks.message_blocks(
        {
            "text": "Shall I connect you?",
            "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        },
        for_user="U1",
    )
    assert all("style" not in e and "confirm" not in e for e in rendered[-1]["elements"])


def test_a_payment_confirmation_asks_the_question_itself():
    text = (
        "You have 2 open invoices:\n• INV-1041, $695.34, *overdue*\n• INV-1042, $373.97, open\n"
        "Pay INV-1041, $695.34, with the Visa ending 4242?"
    )
    assert blocks.confirm_question(text) == "Pay INV-1041, $695.34, with the Visa ending 4242?"
    assert blocks.confirm_question("Pay INV-7, $5.00, with the Visa ending 4242?") == (
        "Pay INV-7, $5.00, with the Visa ending 4242?"
    )


def test_other_buttons_are_plain_and_long_text_is_split():
    message = {
        "text": "x" * 2500 + "\n" + "y" * 2500,
        "buttons": [{"title": f"Product {i}", "payload": f'/inform{{"product":"p{i}"}}'} for i in range(30)],
    }
    rendered = blocks.message_blocks(message, for_user="U1")
    sections = [b for b in rendered if b["type"] == "section"]
    actions = [b for b in rendered if b["type"] == "actions"]
    assert len(sections) == 2 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert [len(b["elements"]) for b in actions] == [25, 5]
    assert all("style" not in e and "confirm" not in e for b in actions for e in b["elements"])
    assert len({b["block_id"] for b in actions}) == 2


def test_after_a_click_the_buttons_are_gone_and_the_choice_shown():
    rendered = blocks.message_blocks(
        {"text": QUOTE, "buttons": [{"title": "Yes", "payload": YES_Q1001}, {"title": "No", "payload": NO_Q1001}]},
        for_user="U1",
    )
    answered = blocks.answered_blocks(rendered, "Yes", "U1")
    assert not any(b["type"] == "actions" for b in answered)
    assert answered[0] == rendered[0] and "chose *Yes*" in answered[-1]["elements"][0]["text"]


@pytest.mark.parametrize(
    "text, private",
    [
        ("*INV-1042*, issued Nov 2, 2026: $1,234.00, open.", True),
        ("Done: order ORD-1001 is placed.", True),
        ("You now have 45 Enterprise licenses.", True),
        ("I've emailed it to ap@acme.example.", True),
        ("Your open balance is $2,000.00.", True),
        ("Enterprise is $165.00 per user per month; 40 users come to $6,600.00 a month.", False),
        ("The account area is under Setup > Your Account. Only users with Manage Billing can see it.", False),
        ("Hi! I can help with licenses, invoices, payments and pricing.", False),
    ],
)
def test_what_counts_as_account_data(text, private):
    assert is_private({"text": text}) is private


def test_buttons_and_an_explicit_flag_decide_too():
    assert is_private({"text": "Shall I?", "buttons": [{"title": "Yes", "payload": "/affirm"}]})
    assert is_private({"text": "Open invoices", "buttons": [{"title": "Pay", "payload": "/pay_invoice"}]})
    assert not is_private({"text": "INV-1 is just an example", "custom": {"private": False}})
    assert is_private({"text": "hello", "custom": {"private": True}})


class Ctx(dict):
    bot_user_id = "UBOT"
    team_id = "T1"
    enterprise_id = None


@pytest.mark.parametrize(
    "event, expected",
    [
        (
            {"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": "hi", "ts": "1.1"},
            ("hi", True, None, "message"),
        ),
        (
            {
                "type": "message",
                "channel": "D1",
                "channel_type": "im",
                "user": "U1",
                "text": "more",
                "ts": "1.3",
                "thread_ts": "1.2",
            },
            ("more", True, "1.2", "message"),
        ),
        (
            {"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@UBOT> invoices", "ts": "2.1"},
            ("invoices", False, "2.1", "mention"),
        ),
        (
            {
                "type": "app_mention",
                "channel": "C1",
                "user": "U1",
                "text": "<@UBOT> pay",
                "ts": "2.5",
                "thread_ts": "2.0",
            },
            ("pay", False, "2.0", "mention"),
        ),
        (
            {"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@UBOT>", "ts": "2.6"},
            ("hi", False, "2.6", "mention"),
        ),
    ],
)
def test_which_events_become_turns_and_where_they_are_answered(event, expected):
    turn = message_turn({"event_id": "Ev1", "team_id": "T1"}, event, Ctx(), client=None)
    assert (turn.text, turn.is_dm, turn.thread_ts, turn.source) == expected
    assert turn.sender == "slack:T1:U1" and turn.keys == (
        "slack:event:Ev1",
        f"slack:msg:{event['channel']}:{event['ts']}",
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "channel": "D1", "channel_type": "im", "user": "UBOT", "text": "my own", "ts": "1"},
        {"type": "message", "channel": "D1", "channel_type": "im", "bot_id": "B2", "text": "a bot", "ts": "1"},
        {
            "type": "message",
            "channel": "D1",
            "channel_type": "im",
            "subtype": "message_changed",
            "ts": "1",
            "message": {"user": "U1", "text": "edited"},
        },
        {"type": "message", "channel": "D1", "channel_type": "im", "subtype": "message_deleted", "ts": "1"},
        {
            "type": "message",
            "channel": "C1",
            "channel_type": "channel",
            "user": "U1",
            "text": "not for the bot",
            "ts": "1",
        },
        {
            "type": "message",
            "channel": "C1",
            "channel_type": "channel",
            "subtype": "channel_join",
            "user": "U1",
            "text": "joined",
            "ts": "1",
        },
    ],
)
def test_what_is_ignored(event):
    assert message_turn({"event_id": "Ev1"}, event, Ctx(), client=None) is None


def test_a_file_share_is_noted_and_its_text_answered():
    event = {
        "type": "message",
        "channel": "D1",
        "channel_type": "im",
        "user": "U1",
        "subtype": "file_share",
        "text": "here is our PO",
        "ts": "1",
        "files": [{"id": "F1"}],
    }
    turn = message_turn({"event_id": "Ev1"}, event, Ctx(), client=None)
    assert turn.files and turn.text == "here is our PO"
    bare = message_turn({"event_id": "Ev2"}, {**event, "text": ""}, Ctx(), client=None)
    assert bare.files and bare.text == ""


def test_a_bare_marker_renders_nothing():
    assert blocks.message_blocks({"custom": {"private": True}}, for_user="U1") == []
