"""Widget messages across gateway replicas (bot/gateway/fanout.py): two gateway processes' apps
on real sockets, one state database, one Redis. A visitor whose socket is on gateway B sees what
gateway A stored for them (a rep's message pushed on A, the bot's reply to a turn taken on A) at
once, through Redis pub/sub: the history poller, the fallback, is set to 30 s here. When the
Redis connection drops, the gateway reconnects by itself and catches its sockets up.

Rasa is a stand-in (an httpx mock transport), as in test_widget.py. Needs Redis at
127.0.0.1:6379: skips without it, fails under CI=true."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from websockets.sync.client import ClientConnection, connect

from bot.billing_client import BillingClient
from bot.gateway.app import Gateway, create_app
from bot.gateway.config import GatewaySettings
from bot.gateway.fanout import Envelope, RedisFanout, Rejected, ReplayGuard, SequenceWindow
from bot.gateway.rasa import Rasa
from bot.gateway.state import GatewayState
from bot.launch.runner import free_port
from tests.conftest import IN_CI
from tests.gateway.test_widget import FakeRasa, billing_api

REDIS_URL = "redis://127.0.0.1:6379/0"
TOKEN = "fanout-test-token"


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}); under CI=true this never skips", pytrace=False)
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({exc}); start it to run the fan-out tests")
    return REDIS_URL


class Replica:
    """One gateway app served by uvicorn on its own port (lifespan on: the fan-out listens)."""

    def __init__(self, state_url: str, prefix: str, rasa: FakeRasa) -> None:
        self.rasa = rasa
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = GatewaySettings(
            gateway_public_url="http://127.0.0.1:8080",
            gateway_token=TOKEN,
            gateway_redis_url=REDIS_URL,
            gateway_redis_prefix=prefix,
        )
        self.gw = Gateway(
            settings=settings,
            state=GatewayState(state_url),
            rasa=Rasa("http://rasa.test/webhooks/gateway/webhook", "t", transport=httpx.MockTransport(rasa)),
            billing=BillingClient("http://billing.test", "t", transport=httpx.MockTransport(billing_api)),
        )
        app = create_app(gw=self.gw, channels=("widget",))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Replica:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not (self.server.started and self.gw.widget.fanout.connected):
            assert time.monotonic() < deadline, "gateway replica did not start (or not connect to Redis)"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def push(self, sender: str, text: str) -> httpx.Response:
        return httpx.post(
            self.url + "/widget/internal/push",
            json={"conversation_id": sender, "text": text, "name": "Dana (Sales)"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
            trust_env=False,
        )


@pytest.fixture
def replicas(redis_url, gateway_state) -> Iterator[tuple[Replica, Replica]]:
    state_url = gateway_state.engine.url.render_as_string(hide_password=False)
    prefix = f"test-{uuid.uuid4().hex[:8]}"  # our own channel: other runs on this Redis don't cross
    rasa = FakeRasa()
    with Replica(state_url, prefix, rasa) as a, Replica(state_url, prefix, rasa) as b:
        yield a, b


class Tab:
    def __init__(self, gateway_url: str, visitor: str | None = None) -> None:
        self.ws: ClientConnection = connect(
            gateway_url.replace("http://", "ws://") + "/widget/ws", origin="http://127.0.0.1:8080", open_timeout=10
        )
        self.ws.send(json.dumps({"type": "hello", "visitor": visitor, "since": 0}))
        self.welcome = self.next("welcome", 10)
        self.visitor = self.welcome["visitor"]
        self.sender = "wv-" + self.visitor.split(".")[1]

    def next(self, kind: str, timeout: float, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def send(self, text: str) -> None:
        self.ws.send(json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": text}))

    def close(self) -> None:
        self.ws.close()


FAST_S = 10.0  # a third of the 30 s poller: only pub/sub can be this quick, even on a loaded machine


def test_a_message_pushed_on_gateway_a_reaches_the_visitors_socket_on_gateway_b(replicas):
    a, b = replicas
    assert a.gw.widget.poll_every >= 30
    tab = Tab(b.url)
    try:
        tab.send("hello")
        tab.next("msg", 10, **{"from": "bot", "text": "you said: hello"})
        assert a.push(tab.sender, "Hi, Dana from sales here.").status_code == 200
        shown = tab.next("msg", FAST_S, **{"from": "agent"})
        assert shown["text"] == "Hi, Dana from sales here." and shown["name"] == "Dana (Sales)"
    finally:
        tab.close()


def test_the_bot_reply_to_a_turn_on_gateway_a_shows_in_the_visitors_tab_on_gateway_b(replicas):
    a, b = replicas
    on_a = Tab(a.url)
    on_b = Tab(b.url, visitor=on_a.visitor)  # the same visitor, a second tab that landed on B
    try:
        on_a.send("what does Enterprise cost?")
        echo = on_b.next("msg", FAST_S, **{"from": "user"})
        assert echo["text"] == "what does Enterprise cost?"
        on_b.next("typing", FAST_S, on=True)
        reply = on_b.next("msg", FAST_S, **{"from": "bot"})
        assert reply["text"] == "you said: what does Enterprise cost?" and reply["seq"] > echo["seq"]
        on_b.next("typing", FAST_S, on=False)
    finally:
        on_a.close(), on_b.close()


def test_messages_sent_while_a_turn_is_under_way_show_on_the_other_replica_in_order(replicas):
    """The second message waits for the first one's turn: the other replica's tab shows both messages
    and both answers in the order they were stored, and the dots go off once, after the last answer."""
    a, b = replicas
    a.rasa.delay = 0.5
    on_a = Tab(a.url)
    on_b = Tab(b.url, visitor=on_a.visitor)
    try:
        on_a.send("first")
        on_a.send("second")
        shown: list[tuple[str, str]] = []
        deadline = time.monotonic() + FAST_S
        while len(shown) < 4:
            frame = json.loads(on_b.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            if frame["type"] == "msg":
                shown.append((frame["from"], frame["text"]))
            elif frame["type"] == "typing" and frame["on"] is False:
                assert len(shown) == 4, f"the dots went off before the last answer: {shown}"
        assert shown == [("user", "first"), ("user", "second"), ("bot", "you said: first"), ("bot", "you said: second")]
        on_b.next("typing", FAST_S, on=False)
    finally:
        a.rasa.delay = 0.0
        on_a.close(), on_b.close()


def test_when_redis_drops_the_connection_the_gateway_reconnects_and_catches_up(replicas, redis_url):
    a, b = replicas
    tab = Tab(b.url)
    try:
        tab.send("hello")
        tab.next("msg", 10, **{"from": "bot"})
        admin = redis.Redis.from_url(redis_url, socket_timeout=2, decode_responses=True)
        mine = [c for c in admin.client_list() if c.get("name", "").startswith(b.gw.widget.fanout.channel)]
        assert mine, "the listener's connection has our name"
        for client in mine:
            admin.client_kill_filter(_id=client["id"])
        a.push(tab.sender, "sent while B was reconnecting")
        assert tab.next("msg", 10, **{"from": "agent"})["text"] == "sent while B was reconnecting"
        deadline = time.monotonic() + 10
        while not b.gw.widget.fanout.connected:
            assert time.monotonic() < deadline, "B did not reconnect to Redis"
            time.sleep(0.05)
        a.push(tab.sender, "and after")
        assert tab.next("msg", FAST_S, **{"from": "agent"})["text"] == "and after"
    finally:
        tab.close()


def test_the_replay_window_takes_each_sequence_number_once_in_any_order_within_the_window():
    window = SequenceWindow(size=64)
    assert [window.admit(n) for n in (1, 3, 2, 3, 2, 1)] == [True, True, True, False, False, False]
    assert window.admit(200) and not window.admit(200)
    assert window.admit(137) and not window.admit(137)  # 63 behind: still inside, once
    assert not window.admit(136) and not window.admit(3)  # 64 and more behind: refused
    assert window.admit(10**12) and not window.admit(200)  # a leap forward leaves everything before behind


def test_the_replay_guard_refuses_events_too_far_from_now_and_forgets_silent_origins():
    guard = ReplayGuard(max_age_s=30)

    def env(origin: str, seq: int, ts: float) -> Envelope:
        return Envelope(origin, seq, ts, {})

    guard.admit(env("a", 1, 1000.0), now=1000.0)
    guard.admit(env("a", 2, 1029.0), now=1000.0)  # a replica's clock a little ahead
    for late in (env("a", 3, 969.0), env("a", 3, 1031.0), env("a", 3, float("nan"))):
        with pytest.raises(Rejected):
            guard.admit(late, now=1000.0)
    with pytest.raises(Rejected):
        guard.admit(env("a", 2, 1000.0), now=1000.0)
    guard.admit(env("b", 1, 1095.0), now=1095.0)  # "a" has been silent for 95 s: forgotten
    assert list(guard._origins) == ["b"]
    with pytest.raises(Rejected):  # and its old events are too old anyway
        guard.admit(env("a", 2, 1029.0), now=1095.0)


async def test_a_replica_hears_the_others_events_and_not_its_own(redis_url):
    channel = f"test-{uuid.uuid4().hex[:8]}:widget"
    heard: dict[str, list[dict[str, object]]] = {"a": [], "b": []}
    a, b = (RedisFanout(redis_url, key="k" * 32, channel=channel) for _ in range(2))

    def handler(name: str) -> Callable[[dict[str, object]], Awaitable[None]]:
        async def handle(event: dict[str, object]) -> None:
            heard[name].append(event)

        return handle

    await a.start(handler("a"))
    await b.start(handler("b"))
    try:
        assert await a.wait_connected(5) and await b.wait_connected(5)
        for n in range(1, 4):
            assert await a.publish({"sender": "wv-1", "upto": n})
        assert await b.publish({"sender": "wv-2", "typing": True})
        deadline = time.monotonic() + 5
        while (len(heard["b"]) < 3 or not heard["a"]) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # anything else on its way
    finally:
        await a.stop()
        await b.stop()
    assert heard["b"] == [{"sender": "wv-1", "upto": n} for n in range(1, 4)]
    assert heard["a"] == [{"sender": "wv-2", "typing": True}]
    assert not a.rejected and not b.rejected  # its own events are not mistaken for forgeries either
