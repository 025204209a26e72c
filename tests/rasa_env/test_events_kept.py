"""Rasa sends the action server only the events it does not hold yet (bot/kept_events.py, bot/
rasa_server/patches/events_kept.py), and the actions still see the whole session: Rasa's patched
RemoteAction against a real `python -m bot.actions`, restarted under it, and against rasa_sdk's own
server; the action server's completion against Rasa's whole body at every step of every training
conversation; its bounds.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_events_kept.py
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.kept_events import KEEP, SINCE, KeptEvents, Mark, Unknown
from bot.rasa_server import patches as rasa_patches
from bot.rasa_server.patches import action_payload, endpoint_sessions, events_kept
from tests.rasa_env.conftest import ROOT, free_port, wait_until_up
from tests.rasa_env.test_rasa_speed_history import conversations  # noqa: F401 (a fixture)

TOKEN = "the-action-servers-secret"
CALLS = re.compile(r'^assistant_action_calls_by_events_total\{kind="(\w+)"\} (\S+)$', re.MULTILINE)


@pytest.fixture(scope="module")
def domain() -> Domain:
    rasa_patches.apply()
    assert events_kept.applied()
    return Domain.load(str(ROOT / "bot" / "domain"))


@contextmanager
def action_server(tmp: Path, port: int, module: str = "bot.actions", **env: str) -> Iterator[str]:
    """A real action server on ``port``; its metrics URL (ours) or its URL (rasa_sdk's)."""
    metrics = free_port()
    log_path = tmp / f"actions-{port}-{metrics}.log"
    environ = {
        **os.environ, "ACTION_SERVER_TOKEN": TOKEN, "PYTHONPATH": str(ROOT), "APP_ENV": "development",
        "METRICS_HOST": "127.0.0.1", "METRICS_PORT": str(metrics), **env,
    }  # fmt: skip
    if module == "bot.actions":
        command = [sys.executable, "-m", "bot.actions", "--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=str(ROOT), env=environ, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}/health", log_path, module)
        yield f"http://127.0.0.1:{metrics}/metrics"
    finally:
        process.terminate()
        process.wait(timeout=10)


def calls(metrics_url: str) -> dict[str, int]:
    return {kind: int(float(n)) for kind, n in CALLS.findall(httpx.get(metrics_url, timeout=5).text)}


def _user(text: str, metadata: dict | None = None) -> UserUttered:
    return UserUttered(text, {"name": "greet", "confidence": 0.99}, metadata=metadata)


def _turn(tracker: DialogueStateTracker, n: int) -> None:
    """A turn of a customer whose messages, after the first, carry no identity: only the first says
    who is talking, and action_greet must find it at the start of the session."""
    for event in (
        ActionExecuted("action_listen"),
        _user(f"message {n}"),
        SlotSet("priced_quantity", n),
        BotUttered(f"answer {n}", {"buttons": [{"title": "Yes", "payload": f'/affirm{{"n": {n}}}'}]}),
    ):
        tracker.update(event)


def _greet(domain: Domain, url: str, tracker: DialogueStateTracker) -> str:
    action = RemoteAction("action_greet", EndpointConfig(url, headers={"Authorization": f"Bearer {TOKEN}"}))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    events = asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, domain))
    said = [e for e in events if isinstance(e, BotUttered)]
    assert said, events
    return str(said[0].text)


def _started(domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker("alex-kept", domain.slots)
    for event in (
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        _user("hello", {"identity": {"email": "alex@acme.example", "name": "Alex Smith"}}),
    ):
        tracker.update(event)
    return tracker


def test_the_actions_see_the_whole_session_from_a_few_new_events(domain, tmp_path):
    """Calls after the first carry only the new events; the action server puts the kept ones in
    front (the greeting names the customer from the session's first message). Restarted, it holds
    nothing: the call is refused and sent again whole, once, and the next ones are short again."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhook"
    tracker = _started(domain)
    with action_server(tmp_path, port) as metrics:
        for n in range(40):
            assert "Alex" in _greet(domain, url, tracker)
            _turn(tracker, n)
        assert calls(metrics) == {"whole": 1, "since": 39}
    with action_server(tmp_path, port) as metrics:
        for n in range(40, 45):
            assert "Alex" in _greet(domain, url, tracker)
            _turn(tracker, n)
        assert calls(metrics) == {"unknown": 1, "whole": 1, "since": 4}
    # a tracker read again from the store (new event objects) starts over with a whole call
    again = DialogueStateTracker.from_events("alex-kept", copy.deepcopy(list(tracker.events)), domain.slots)
    with action_server(tmp_path, port) as metrics:
        assert "Alex" in _greet(domain, url, again)
        _turn(again, 45)
        assert "Alex" in _greet(domain, url, again)
        assert calls(metrics) == {"whole": 1, "since": 1}


def test_an_action_server_that_keeps_nothing_gets_whole_calls(domain, tmp_path):
    """rasa_sdk's own server, and ours with ACTIONS_KEPT_EVENTS=0, never say they keep anything:
    every call is whole (a short one would lose the customer's name)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhook"
    tracker = _started(domain)
    with action_server(tmp_path, port, module="rasa_sdk"):
        for n in range(6):
            assert "Alex" in _greet(domain, url, tracker)
            _turn(tracker, n)
    with action_server(tmp_path, port, ACTIONS_KEPT_EVENTS="0") as metrics:
        for n in range(6, 10):
            assert "Alex" in _greet(domain, url, tracker)
            _turn(tracker, n)
        assert calls(metrics) == {"whole": 4}


def _events_of(text: str) -> list:
    return json.loads(text)["tracker"]["events"]


def test_completed_calls_equal_rasas_whole_calls(conversations, domain):
    """At every step of every training conversation (undos, restarts, a new session, forms), the
    events the action server makes of a short call equal those of Rasa's whole call."""
    _, found = conversations
    action = RemoteAction("action_check_balance", EndpointConfig("http://127.0.0.1:1/webhook"))
    server = KeptEvents(1_000_000)
    short = checked = 0
    for number, events in enumerate(found):
        live = DialogueStateTracker(f"c{number}", domain.slots)
        for i, event in enumerate(events, 1):
            live.update(event)
            if i % 2 and i != len(events):
                continue
            body = action._action_call_format(live, domain)
            assert isinstance(body, endpoint_sessions.Encoded) and body.offer is not None
            whole = _events_of(body.text)
            headers = body.offer.headers(since=body.since_text is not None)
            sent = _events_of(body.since_text) if body.since_text is not None else whole
            completed, kept = server.complete(
                live.sender_id, sent, Mark.parse(headers.get(SINCE)), Mark.parse(headers.get(KEEP))
            )
            assert completed == whole
            assert kept == (body.offer.keep is not None)
            body.offer.answered(body.offer.keep.token if kept and body.offer.keep else None)
            short += body.since_text is not None
            checked += 1
    assert checked > 300 and short > checked // 3


def test_kept_events_are_bounded_and_named_exactly():
    kept = KeptEvents(10)
    first = Mark("a" * 22, 4)
    events, held = kept.complete("alex", list(range(6)), None, first)
    assert held and events == list(range(6)) and kept.events_held == 4
    events, held = kept.complete("alex", [4, 5, 6], first, Mark("b" * 22, 6))
    assert events == list(range(7)) and held and kept.events_held == 6
    for wrong in (first, Mark("b" * 22, 5), Mark("c" * 22, 6)):
        with pytest.raises(Unknown):
            kept.complete("alex", [6], wrong, None)
    with pytest.raises(Unknown):
        kept.complete("sam", [6], Mark("b" * 22, 6), None)  # another conversation, the same token
    kept.complete("sam", list(range(8)), None, Mark("d" * 22, 8))  # 14 events: alex's go first
    assert kept.events_held == 8
    with pytest.raises(Unknown):
        kept.complete("alex", [6], Mark("b" * 22, 6), None)
    assert kept.complete("kim", list(range(12)), None, Mark("e" * 22, 11)) == (list(range(12)), False)
    assert kept.events_held == 8  # more than the bound: not kept, nothing else pushed out
    assert KeptEvents(0).complete("alex", [1, 2], None, Mark("f" * 22, 1)) == ([1, 2], False)
    assert KeptEvents.from_env({"ACTIONS_KEPT_EVENTS": "0"}).max_events == 0
    assert KeptEvents.from_env({}).max_events == 20_000
    for wrong in ("lots", "-3"):
        with pytest.raises(SystemExit, match="ACTIONS_KEPT_EVENTS='.*': a whole number of events"):
            KeptEvents.from_env({"ACTIONS_KEPT_EVENTS": wrong})


@pytest.mark.parametrize(
    "value",
    [None, "", "short 3", "a" * 22, "a" * 22 + " -1", "a" * 22 + " 3 4", "a" * 22 + " 999999999", "a b" * 11 + " 3"],
)
def test_malformed_marks_name_nothing(value):
    assert Mark.parse(value) is None


def test_a_call_before_any_message_keeps_nothing(domain):
    tracker = DialogueStateTracker("new", domain.slots)
    tracker.update(ActionExecuted("action_session_start"))
    offer = events_kept.offer("new", list(tracker.events), action_payload.latest_user(list(tracker.events)))
    assert offer.keep is None and offer.since is None
    assert set(offer.headers(since=True)) == {"X-Conversation"}
