"""The action server reads Rasa's calls as before (bot/actions/__main__.py parses them with orjson):
a long session, JSON that only Python's parser reads (NaN, an escaped lone surrogate, an integer
wider than 64 bits) and a broken body through a real `python -m bot.actions`, and every kind of
value against Python's parser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.rasa_env.conftest import ROOT, free_port, wait_until_up

TOKEN = "the-action-servers-secret"


@pytest.fixture(scope="module")
def actions_url(tmp_path_factory):
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("actions") / "actions.log"
    env = {**os.environ, "ACTION_SERVER_TOKEN": TOKEN, "PYTHONPATH": str(ROOT), "APP_ENV": "development"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.actions", "--host", "127.0.0.1", "--port", str(port)],
            cwd=str(ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/health", log_path, "the action server")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _user(text: str, at: float, name: str = "Alex Smith") -> dict:
    metadata = {"identity": {"email": "alex@acme.example", "name": name}}
    parse = {"intent": {"name": "greet", "confidence": 0.99}, "entities": [], "text": text}
    return {"event": "user", "timestamp": at, "text": text, "parse_data": parse, "metadata": metadata}


def _call(messages: int, name: str = "Alex Smith") -> str:
    """A call of action_greet at the end of a session of ``messages`` messages, as Rasa's JSON text."""
    events: list[dict] = []
    for n in range(messages):
        events += [
            {"event": "action", "timestamp": n + 0.1, "name": "action_listen"},
            _user(f"message {n}", n + 0.2, name),
            {"event": "slot", "timestamp": n + 0.3, "name": "balance", "value": 12.5},
            {"event": "bot", "timestamp": n + 0.4, "text": f"answer {n}", "data": {}},
        ]
    tracker = {
        "sender_id": "alex",
        "slots": {},
        "latest_message": events[-3]["parse_data"],
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return json.dumps({"next_action": "action_greet", "sender_id": "alex", "tracker": tracker, "version": "3.6.21"})


def _post(url: str, text: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    return httpx.post(f"{url}/webhook", content=text.encode(), headers=headers, timeout=30)


def _greeting(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return answer.json()["responses"][0]["text"]


def test_a_long_session_is_read(actions_url):
    assert "Alex" in _greeting(_post(actions_url, _call(500)))


def test_what_only_pythons_parser_reads_is_read_as_before(actions_url):
    expected = _greeting(_post(actions_url, _call(3)))
    nan = _call(3).replace('"value": 12.5', '"value": NaN', 1)
    wide = _call(3).replace('"value": 12.5', '"value": 123456789012345678901234567890', 1)
    surrogate = _call(3).replace('"answer 0"', '"answer \\ud83d"', 1)
    for text in (nan, wide, surrogate):
        assert _greeting(_post(actions_url, text)) == expected


def _request(body: bytes):
    from sanic import Sanic
    from sanic.compat import Header
    from sanic.request import Request

    app = Sanic.get_app("calls", force_create=True)
    request = Request(b"/webhook", Header({"content-type": "application/json"}), "1.1", "POST", None, app)
    request.body = body
    return request


@pytest.mark.parametrize(
    "value",
    [
        "12.5", "0.1", "1e-7", "-0.0", "123456789012345678", "-9223372036854775808", "18446744073709551615",
        "5000000000000000000000", "-123456789012345678901234567890", "0.00018233349315335102", "1.5e-20",
        "NaN", "-Infinity", '"\\ud83d"',
        '"caf\\u00e9 \\ud83d\\ude00"', '"12345678901234567890123"', "[1, 2.50, null, true]",
    ],
)  # fmt: skip
def test_every_value_is_read_as_pythons_parser_reads_it(value):
    """Wide integers stay integers (orjson alone makes 5000000000000000000000 a float), and
    what orjson refuses is read all the same."""
    from bot.actions.__main__ import parsed

    text = _call(2).replace('"value": 12.5', f'"value": {value}', 1)
    got = parsed(_request(text.encode()))
    assert repr(got) == repr(json.loads(text))


def test_long_decimals_and_ids_take_the_fast_parser():
    """Every intent's confidence has some 20 decimals, and a request id's hex digits can run for
    20: neither is a reason for the slow parser; an integer that wide, in any place, is."""
    from bot.actions.__main__ import _NOT_SHAPE, _SHAPE, _WIDE_INTEGER

    def wide(text: bytes) -> bool:
        return _WIDE_INTEGER in text.translate(_SHAPE, _NOT_SHAPE)

    assert not wide(b'{"confidence": 0.00018233349315335102, "t": 1796637184.1234567, "n": -12}')
    assert not wide(b'{"request_id": "fc46b0d9660448759947667419026a47", "x": 1e-20}')
    for number in (b"50000000000000000000000", b"-50000000000000000000000", b"12345678901234567890.5"):
        for text in (b'{"v":%s}', b'{"v": [1, %s]}', b"[%s]", b'{"a": 1,\n %s}'):
            assert wide(text.replace(b"%s", number)), text
