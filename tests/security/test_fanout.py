"""Issue 17, item 7: the Redis fan-out between gateway replicas had no password and no integrity.
Anyone who reached Redis could read customers' widget messages off the channel and publish a bot
message with a /affirm button that, pressed, placed an order.

Two real gateway replicas (widget only, Rasa a stand-in as in tests/gateway/test_fanout.py) share
one state database and this machine's Redis; the attacker is a Redis client publishing on their
channel. Whatever it publishes (today's unsigned format, a wrong key, a tampered, replayed, stale
or duplicated event, garbage) never reaches the visitor's socket on the other replica, while
genuine events still do, at once. The production configuration (ProdStack, the deploy files)
talks to Redis with a password, as a user that can touch only its own keys and channels.

Needs Redis at 127.0.0.1:6379: skips without it, fails under CI=true."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import yaml

from bot.launch.runner import ROOT
from tests.gateway.test_fanout import FAST_S, REDIS_URL, Replica, Tab, redis_url  # noqa: F401 - fixture
from tests.gateway.test_widget import FakeRasa

KEY = "security-test-fanout-key-0123456789abcdef"  # the replicas' GATEWAY_FANOUT_KEY here
AFFIRM = {
    "text": "Your 500 licenses are ready. Confirm the order?",
    "buttons": [{"title": "Yes, place the order", "payload": "/affirm"}],
}


@pytest.fixture
def pair(redis_url, tmp_path, monkeypatch) -> Iterator[tuple[Replica, Replica, str]]:
    """Gateways A and B on one channel, both with GATEWAY_FANOUT_KEY=KEY (from the environment,
    as a deployment gives it)."""
    monkeypatch.setenv("GATEWAY_FANOUT_KEY", KEY)
    prefix = f"sec-{uuid.uuid4().hex[:8]}"
    state_url = f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
    rasa = FakeRasa()
    with Replica(state_url, prefix, rasa) as a, Replica(state_url, prefix, rasa) as b:
        yield a, b, f"{prefix}:widget"


@pytest.fixture
def attacker(redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    yield client
    client.close()


def frames_until(tab: Tab, done: Callable[[dict[str, Any]], bool], timeout: float) -> list[dict[str, Any]]:
    """Every frame the tab receives up to and including the first ``done`` one."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not seen or not done(seen[-1]):
        try:
            seen.append(json.loads(tab.ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
        except TimeoutError:
            pytest.fail(f"what was awaited did not arrive in {timeout} s; the socket got {seen}", pytrace=False)
    return seen


def genuine_push_arrives(a: Replica, tab: Tab, text: str) -> list[dict[str, Any]]:
    """A rep's message pushed on A reaches the tab on B at once; returns what came before it."""
    assert a.push(tab.sender, text).status_code == 200
    frames = frames_until(tab, lambda f: f.get("type") == "msg" and f.get("text") == text, FAST_S)
    return frames[:-1]


def affirm_shown(frames: list[dict[str, Any]]) -> bool:
    return any("/affirm" in json.dumps(f) or AFFIRM["text"] in json.dumps(f) for f in frames)


def typing_shown(frames: list[dict[str, Any]]) -> bool:
    return any(f.get("type") == "typing" and f.get("on") for f in frames)


def row(at: str = "2030-01-01T00:00:00+00:00", seq: int = 10**9) -> list[Any]:
    return [seq, "bot", AFFIRM, at]


def sealed(
    event: dict[str, Any], channel: str, *, key: str = KEY, origin: str | None = None, seq: int = 1, age_s: float = 0.0
) -> str:
    from bot.gateway.fanout import Sealer

    return Sealer(key, channel).seal(
        event, origin=origin or f"forger-{uuid.uuid4().hex[:6]}", seq=seq, ts=time.time() - age_s
    )


# -- a forged bot message with a /affirm button ----------------------------------------------------

FORGED_MESSAGES: dict[str, Callable[[str, str], str | bytes]] = {
    # today's format, as the review published it
    "unsigned": lambda s, ch: json.dumps({"sender": s, "origin": "attacker", "rows": [row()]}),
    "unsigned, an id just after the last one": lambda s, ch: json.dumps(
        {"sender": s, "origin": "x", "rows": [row(seq=3)]}
    ),
    "signed with another key": lambda s, ch: sealed(
        {"sender": s, "upto": 10**9, "rows": [row()]}, ch, key="not-the-fanout-key-but-just-as-long-000"
    ),
    "signed for another channel": lambda s, ch: sealed({"sender": s, "upto": 10**9, "rows": [row()]}, "aa:widget"),
    "signature of the right key, event swapped": lambda s, ch: _swap(
        sealed({"sender": s, "typing": False}, ch), {"sender": s, "upto": 10**9, "rows": [row()]}
    ),
    # even a correctly signed event cannot put words in the bot's mouth: rows come from the database
    "signed with the right key": lambda s, ch: sealed(
        {"sender": s, "upto": 10**9, "rows": [row()], "message": {"type": "msg", **AFFIRM}}, ch
    ),
}


def _swap(envelope: str, event: dict[str, Any]) -> str:
    """The envelope's signature over a body whose event was replaced."""
    head, mac, body = envelope.split(".", 2)
    data = json.loads(body)
    data["event"] = event
    return ".".join((head, mac, json.dumps(data)))


@pytest.mark.parametrize("forge", FORGED_MESSAGES.values(), ids=FORGED_MESSAGES.keys())
def test_a_forged_bot_message_with_an_affirm_button_never_reaches_a_socket_on_another_replica(pair, attacker, forge):
    a, b, channel = pair
    tab = Tab(b.url)
    try:
        tab.send("hello")
        tab.next("msg", 10, **{"from": "bot"})
        assert attacker.publish(channel, forge(tab.sender, channel)) >= 2  # both replicas heard it
        before = genuine_push_arrives(a, tab, "Dana here: the genuine message")
        assert not affirm_shown(before), before
        tab.send("buttons")  # and the next turn answers normally
        reply = tab.next("msg", FAST_S, **{"from": "bot"})
        assert reply["text"] == "you said: buttons"
    finally:
        tab.close()


# -- replayed, tampered, stale or duplicated events: typing dots as the visible probe -------------


def test_replayed_or_tampered_genuine_events_show_nothing(pair, attacker):
    a, b, channel = pair
    listener = attacker.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    on_a = Tab(a.url)
    on_b = Tab(b.url, visitor=on_a.visitor)
    try:
        on_a.send("what does Enterprise cost?")  # A publishes: typing on, the user's and bot's rows, typing off
        frames = frames_until(on_b, lambda f: f.get("type") == "typing" and not f.get("on"), FAST_S)
        assert typing_shown(frames) and any(f.get("from") == "bot" for f in frames), frames  # genuine: shown
        captured = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            message = listener.get_message(timeout=0.2)
            if message is not None:
                captured.append(message["data"])
        assert captured, "nothing published on the channel"
        assert b"Enterprise" not in b"".join(captured), "customers' messages travel through Redis in clear"
        for data in captured:  # replayed verbatim
            attacker.publish(channel, data)
        for data in captured:  # every "off" turned "on", the signature kept
            for off, on in (
                (b'"on": false', b'"on": true'),
                (b'"typing": false', b'"typing": true'),
                (b'"typing":false', b'"typing":true'),
            ):
                data = data.replace(off, on)
            attacker.publish(channel, data)
        before = genuine_push_arrives(a, on_b, "Dana here, after the replay")
        assert not typing_shown(before), before
        assert not [f for f in before if f.get("type") == "msg"], before  # nothing shown twice
    finally:
        listener.close()
        on_a.close(), on_b.close()


def test_signed_events_with_implausible_times_or_sequence_numbers_are_ignored(pair, attacker):
    a, b, channel = pair
    tab = Tab(b.url)
    try:
        tab.send("hello")
        frames_until(tab, lambda f: f.get("type") == "typing" and not f["on"], 10)  # the turn is over
        typing = {"sender": tab.sender, "typing": True}
        quiet = {"sender": tab.sender, "typing": False}
        origin = f"forger-{uuid.uuid4().hex[:6]}"
        # the probe works: a well-formed, fresh, signed event is shown
        attacker.publish(channel, sealed(typing, channel, origin=origin, seq=3000))
        assert typing_shown(frames_until(tab, lambda f: f.get("type") == "typing", FAST_S))
        attacker.publish(channel, sealed(quiet, channel, origin=origin, seq=3001))
        frames_until(tab, lambda f: f.get("type") == "typing" and not f["on"], FAST_S)
        for event in (
            sealed(typing, channel, origin=origin, seq=3000),  # a sequence number already seen
            sealed(typing, channel, origin=origin, seq=3001),
            sealed(typing, channel, origin=origin, seq=1),  # far behind the newest from that origin
            sealed(typing, channel, origin=origin, seq=0),
            sealed(typing, channel, origin=origin, seq=-5),
            sealed(typing, channel, seq=1, age_s=3600),  # an hour old
            sealed(typing, channel, seq=1, age_s=-3600),  # an hour ahead
            sealed({"sender": tab.sender, "typing": "yes"}, channel),  # signed, but not an event we send
            json.dumps({"sender": tab.sender, "message": {"type": "typing", "on": True}}),  # unsigned
            b"\xff\xfe garbage",
            "v1." + "0" * 64 + ".{",
            "v1..",
            "",
            "x" * 200_000,
        ):
            attacker.publish(channel, event)
        before = genuine_push_arrives(a, tab, "Dana here, after the noise")
        assert not typing_shown(before), before
    finally:
        tab.close()


# -- Redis AUTH ------------------------------------------------------------------------------------


def test_the_production_stack_talks_to_redis_as_its_own_user_with_a_password(redis_url, tmp_path):
    from bot.launch.production import ProdStack

    prefix = f"sec{uuid.uuid4().hex[:8]}"
    unused = "postgresql://127.0.0.1/unused"  # nothing is started: the Redis account is what this is about
    stack = ProdStack(
        data_dir=tmp_path, billing_db=unused, tracker_db=unused, gateway_db=unused, redis_url=redis_url, prefix=prefix
    )
    env = stack.env()
    user, password = env.get("REDIS_USERNAME", ""), env["REDIS_PASSWORD"]
    assert password, "Rasa's lock store talks to Redis without a password"
    assert (env.get("GATEWAY_REDIS_USERNAME"), env.get("GATEWAY_REDIS_PASSWORD")) == (user, password), (
        "the gateways talk to Redis without the password"
    )
    assert password not in env["GATEWAY_REDIS_URL"], "the password belongs in its own setting, not a URL that is logged"
    assert env.get("GATEWAY_FANOUT_KEY", "dev").startswith("dev") is False, "the fan-out runs on a development key"
    host, port = env["REDIS_HOST"], int(env["REDIS_PORT"])

    def client(username: str | None, secret: str | None) -> redis.Redis:
        return redis.Redis(host=host, port=port, username=username, password=secret, socket_timeout=2)

    stack.redis.open()
    try:
        account = client(user, password)
        assert account.ping()
        account.publish(f"{prefix}:widget", "hello")
        account.set(f"{env['RASA_LOCK_PREFIX']}:lock:sec-test", "1", ex=5)  # Rasa's lock store
        for wrong in ("", "not-the-password", password[:-1]):
            with pytest.raises(redis.AuthenticationError):
                client(user, wrong).ping()
        for intrusion in (
            lambda: account.publish("aa:widget", "forged"),
            lambda: account.get("aa:lock:x"),
            lambda: account.keys("*"),
            lambda: account.flushall(),
            lambda: account.config_get("*"),
            lambda: account.execute_command("ACL", "LIST"),
            lambda: account.execute_command("MONITOR"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                intrusion()
        account.close()
        assert not asyncio.run(_fanout_connects(env["GATEWAY_REDIS_URL"], f"{prefix}:widget", user, "")), (
            "a gateway without the password reached Redis"
        )
        assert asyncio.run(_fanout_connects(env["GATEWAY_REDIS_URL"], f"{prefix}:widget", user, password))
    finally:
        stack.redis.close()
    with pytest.raises(redis.AuthenticationError):  # the account is gone with the stack
        client(user, password).ping()


async def _fanout_connects(url: str, channel: str, username: str, password: str) -> bool:
    from bot.gateway.fanout import RedisFanout

    fanout = RedisFanout(url, channel=channel, key=KEY, username=username, password=password, timeout_s=1.0)

    async def ignore(_event: dict[str, Any]) -> None:
        return None

    await fanout.start(ignore)
    try:
        return await fanout.wait_connected(2.0)
    finally:
        await fanout.stop()


# -- the deployment files --------------------------------------------------------------------------

DEPLOY = ROOT / "deploy"


def _variable(value: str) -> str | None:
    found = re.fullmatch(r"\$\{(\w+)(?::[-?].*)?\}", str(value))
    return found.group(1) if found else None


def test_the_deployments_require_a_redis_password_and_a_fanout_key():
    text = (DEPLOY / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert {"REDIS_PASSWORD", "GATEWAY_FANOUT_KEY"} <= required, "compose starts without them"
    redis_service = compose["services"]["redis"]
    assert "--requirepass" in " ".join(redis_service["command"]), "compose's Redis has no password"
    assert "REDIS_PASSWORD" in " ".join(redis_service["healthcheck"]["test"]), "its health check cannot log in"
    ours = {name: s.get("environment") or {} for name, s in compose["services"].items() if "build" in s}
    rasa = [env for env in ours.values() if "REDIS_HOST" in env]
    gateways = [env for env in ours.values() if "GATEWAY_REDIS_URL" in env]
    assert rasa and gateways
    assert all(_variable(env["REDIS_PASSWORD"]) == "REDIS_PASSWORD" for env in rasa)
    for env in gateways:
        assert _variable(env.get("GATEWAY_REDIS_PASSWORD", "")) == "REDIS_PASSWORD"
        assert _variable(env.get("GATEWAY_FANOUT_KEY", "")) == "GATEWAY_FANOUT_KEY"
        assert not urlsplit(env["GATEWAY_REDIS_URL"]).password
    manifests = [
        doc
        for path in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    secret = next(d for d in manifests if d["kind"] == "Secret")["stringData"]
    assert {"REDIS_PASSWORD", "GATEWAY_FANOUT_KEY"} <= set(secret) and secret["REDIS_PASSWORD"]
    from_secret: dict[str, set[str]] = {}
    for doc in manifests:
        if doc["kind"] == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            from_secret[doc["metadata"]["name"]] = {
                e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})
            }
    assert "REDIS_PASSWORD" in from_secret["rasa"]
    assert {"GATEWAY_REDIS_PASSWORD", "GATEWAY_FANOUT_KEY"} <= from_secret["gateway"]


def test_the_production_endpoints_pass_redis_credentials_to_the_lock_store():
    lock_store = yaml.safe_load(Path(ROOT / "bot" / "endpoints.prod.yml").read_text())["lock_store"]
    assert lock_store["password"] == "${REDIS_PASSWORD}" and lock_store["username"] == "${REDIS_USERNAME}"
