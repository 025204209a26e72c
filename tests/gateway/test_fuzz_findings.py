"""What the fuzz test (tests/e2e/test_fuzz.py) found, kept as regression tests: each input once
crashed a request (500), a listener or a widget connection; now each gets a clear refusal or an
answer."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from bot.gateway.slack import shape
from tests.gateway.test_slack_protocol import (  # noqa: F401 - fixtures
    SECRET,
    gateway,
    no_slack_settings_from_the_shell,
    slack_api,
)
from tests.gateway.test_widget import client, fake_rasa, open_ws, until  # noqa: F401 - fixtures
from tests.slack_mock import SlackSender, sign


def _event(event: object, **envelope: object) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}",
            "event": event,
            **envelope,
        }
    ).encode()


def _form(payload: object) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


MALFORMED = [
    (_event(None), "application/json"),  # "event": null: bolt's middleware raised AttributeError
    (_event("text"), "application/json"),
    (_event({"type": "message", "user": 5, "channel": "DU1", "text": "hi"}), "application/json"),
    (_event({"type": "message", "user": "U1", "text": "hi"}, authorizations="x"), "application/json"),
    (
        _event({"type": "message", "user": "U1", "channel": "DU1", "text": "add 5 licenses \ud800"}),
        "application/json",
    ),  # a lone surrogate (JSON escape): crashed a database query
    (_form({"type": "block_actions", "user": {"id": "U1"}, "actions": [{}]}), "application/x-www-form-urlencoded"),
    (_form({"type": "block_actions", "user": "U", "actions": "x"}), "application/x-www-form-urlencoded"),
    (
        _form({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": 5, "value": []}]}),
        "application/x-www-form-urlencoded",
    ),
    (_form({"type": "view_submission", "view": None}), "application/x-www-form-urlencoded"),
    (_form("{"), "application/x-www-form-urlencoded"),
    (b"[]", "application/json"),
    (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "application/json"),  # deeper than json can parse
]


@pytest.mark.parametrize("body, content_type", MALFORMED)
def test_malformed_signed_slack_payloads_are_refused_with_400_not_500(gateway, body, content_type):
    served, rasa = gateway()
    answer = httpx.post(
        f"{served.url}/slack/events", content=body, headers={"content-type": content_type, **sign(SECRET, body)}
    )
    assert answer.status_code == 400 and answer.text == "malformed request"
    assert rasa.calls == []


@pytest.mark.parametrize("timestamp", ["", "abc", "1e9", "９"])
def test_a_timestamp_that_is_no_number_or_a_body_that_is_no_utf8_is_refused_with_401(gateway, timestamp):
    served, _ = gateway()
    body = _event({"type": "message", "user": "U1", "channel": "DU1", "text": "hi"})
    headers = {
        "content-type": "application/json",
        **sign(SECRET, body),
        "x-slack-request-timestamp": timestamp.encode(),
    }
    assert httpx.post(f"{served.url}/slack/events", content=body, headers=headers).status_code == 401
    binary = b"\xff\xfe payload"
    assert (
        httpx.post(
            f"{served.url}/slack/events",
            content=binary,
            headers={"content-type": "text/plain", **sign(SECRET, binary.decode("latin-1").encode("latin-1"))},
        ).status_code
        == 401
    )


def test_well_formed_payloads_pass_the_shape_check():
    sender = SlackSender("http://unused", SECRET)
    assert shape.problem(sender.event_body(sender.dm("UALEX", "add 5 licenses 😀")), "application/json") is None
    assert shape.problem(b"command=%2Faccount&user_id=U1&text=hi", "application/x-www-form-urlencoded") is None
    click = {
        "type": "block_actions",
        "user": {"id": "U1", "team_id": "T1"},
        "team": {"id": "T1"},
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "D1"},
        "channel": {"id": "D1"},
        "message": {"ts": "1.2", "blocks": []},
        "actions": [{"action_id": "rasa_button_0", "block_id": None, "value": "/affirm", "type": "button"}],
    }
    assert shape.problem(_form(click), "application/x-www-form-urlencoded") is None


def test_a_slash_command_without_a_user_and_a_home_click_with_an_odd_action_ts_do_not_fail(gateway, slack_api):
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    command = b"command=%2Faccount&team_id=T0001&text=hi&trigger_id=t1"
    assert sender.post(command, "application/x-www-form-urlencoded").status_code == 200
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "UALEX", "team_id": "T0001"},
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "home"},
        "actions": [
            {
                "action_id": "home_latest_invoice",
                "value": "/latest_invoice",
                "type": "button",
                "text": {"type": "plain_text", "text": "Latest invoice"},
                "action_ts": "x",
            }
        ],
    }
    assert sender.post(_form(payload), "application/x-www-form-urlencoded").status_code == 200
    deadline = time.monotonic() + 10
    while not rasa.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [c["message"] for c in rasa.calls] == ["/latest_invoice"]  # the click was taken; the command was not


def test_widget_frames_that_once_closed_the_connection(client, fake_rasa):
    # A hello whose "since" overflowed the database's integer.
    ws = open_ws(client, since=2**70)
    until(ws, "welcome")
    # A lone surrogate (a JSON escape a browser's JSON.stringify produces): cleaned away before it is
    # stored or sent (bot.nlu.text_hygiene).
    ws.send_text('{"type": "message", "id": "cid-surrogate-1", "text": "hi \\ud800 there"}')
    assert until(ws, "msg", **{"from": "bot"})["text"] == "you said: hi  there"
    assert fake_rasa.texts() == ["hi  there"]
    ws.close()
