"""The load balancer of the production topology: HAProxy with the configuration `make run-prod`
and compose use (deploy/haproxy.cfg.template, rendered by bot/launch/haproxy.py), as its own process in
front of two small HTTP + WebSocket backends that serve all three pools.

Round robin per request; every request of a kept-alive connection carries the client's address in
X-Forwarded-For and nothing a client forged; bodies and WebSockets pass; each pool checks its own
health URL, a backend that fails it or is killed is taken out (a killed one without a failed
request) and put back when it returns; with none left the client gets a 503 that says so.

Without HAProxy these tests fail with how to install it (never skip)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket
from websockets.sync.client import connect

from bot.gateway.rasa import conversation_key
from bot.launch import haproxy
from bot.launch.runner import ROOT, free_port

HEALTH = {"gateway": "/healthz", "rasa": "/", "actions": "/health"}  # each pool's health URL


class Backend:
    """A tiny app on a fixed port that says its name; ``sick`` lists the health URLs that fail,
    ``slow`` the seconds some take to answer."""

    def __init__(self, name: str) -> None:
        self.name, self.port, self.sick = name, free_port(), set()
        self.slow: dict[str, float] = {}
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        def health(path: str) -> Response:
            time.sleep(self.slow.get(path, 0))
            return Response("sick", status_code=500) if path in self.sick else Response("ok")

        for path in HEALTH.values():
            app.add_api_route(path, lambda path=path: health(path), methods=["GET"])

        @app.get("/who")
        async def who() -> Response:
            return Response(self.name)

        @app.post("/echo")
        async def echo(request: Request) -> Response:
            seen = {
                f"x-seen-{h}": ", ".join(request.headers.getlist(h)) or "-"
                for h in ("x-forwarded-for", "forwarded", "x-real-ip")
            }
            return Response(await request.body(), headers=seen)

        @app.websocket("/ws")
        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.send_text(f"{self.name} sees {websocket.headers.get('x-forwarded-for')}")
            while True:
                await websocket.send_text(f"{self.name}:{await websocket.receive_text()}")

        @app.api_route("/{rest:path}", methods=["GET", "POST"])
        async def anything(rest: str) -> Response:  # /metrics, /admin/...: whatever gets through
            return Response(f"{self.name} reached {rest}")

        return app

    def start(self) -> Backend:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "backend did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.server = None


@pytest.fixture
def backends() -> Iterator[tuple[Backend, Backend]]:
    a, b = Backend("a").start(), Backend("b").start()
    yield a, b
    a.stop(), b.stop()


@pytest.fixture
def balancer(backends, tmp_path: Path) -> Iterator[dict[str, str]]:
    """HAProxy as make run-prod configures it, every pool on backends a and b: pool -> its URL."""
    try:
        program = haproxy.binary()
    except haproxy.HaproxyMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    ports = {pool: free_port() for pool in haproxy.POOLS}
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.loopback(ports, {pool: [b.port for b in backends] for pool in haproxy.POOLS}))
    log = open(tmp_path / "haproxy.log", "wb")
    process = subprocess.Popen([program, "-db", "-f", str(config)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    urls = {pool: f"http://127.0.0.1:{port}" for pool, port in ports.items()}
    try:
        # up once each pool has seen both backends healthy
        eventually(
            lambda: process.poll() is None and all(set(who(url, 2)) == {"a", "b"} for url in urls.values()),
            timeout=15,
            why=lambda: (tmp_path / "haproxy.log").read_text(),
        )
        yield urls
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def who(url: str, n: int, **headers: str) -> Counter:
    """``n`` requests, each on a new connection."""
    seen: Counter = Counter()
    for _ in range(n):
        try:
            answer = httpx.get(url + "/who", timeout=5, trust_env=False, headers={"Connection": "close", **headers})
            seen[answer.text if answer.status_code == 200 else answer.status_code] += 1
        except httpx.HTTPError as error:
            seen[type(error).__name__] += 1
    return seen


def eventually(condition, timeout: float = 8.0, why=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in time {why()}"
        time.sleep(0.1)


def test_requests_go_round_robin_on_new_and_on_kept_alive_connections(balancer):
    assert who(balancer["gateway"], 6) == Counter({"a": 3, "b": 3})
    with httpx.Client(trust_env=False, timeout=5) as client:
        # Rasa's and the actions' pools balance by conversation; a request that names none still reaches both
        for pool in ("rasa", "actions"):
            assert set(Counter(client.get(balancer[pool] + "/who").text for _ in range(12))) == {"a", "b"}, pool


def test_every_request_of_a_kept_alive_connection_carries_the_client_address_and_nothing_forged(balancer):
    body = b"x" * 300_000  # many reads' worth
    forged = [
        {"X-Forwarded-For": "6.6.6.6"},
        {"Forwarded": "for=6.6.6.6"},
        {"X-Real-IP": "6.6.6.6"},
        {"X-Forwarded-For": "6.6.6.6, 7.7.7.7", "Forwarded": "for=7.7.7.7", "X-Real-IP": "7.7.7.7"},
    ]
    with httpx.Client(trust_env=False, timeout=5) as client:
        for headers in [{}, *forged, *forged]:
            answer = client.post(balancer["gateway"] + "/echo", content=body, headers=headers)
            assert answer.status_code == 200 and answer.content == body
            assert (
                answer.headers["x-seen-x-forwarded-for"],
                answer.headers["x-seen-forwarded"],
                answer.headers["x-seen-x-real-ip"],
            ) == ("127.0.0.1", "-", "-"), headers
        assert client.post(balancer["gateway"] + "/echo", content=b"").status_code == 200
    with httpx.Client(trust_env=False, timeout=5) as client:  # one connection: httpx keeps it alive
        for _ in range(3):
            client.get(balancer["gateway"] + "/who")
        pool = client._transport._pool
        assert len(pool.connections) == 1


def test_the_public_frontend_refuses_metrics_and_the_admin_api(balancer):
    # The gateways serve the privacy admin API (bot/privacy/api.py) and, on their own port, /metrics:
    # neither is for the internet, whatever token or path spelling a client tries.
    with httpx.Client(trust_env=False, timeout=5) as client:
        for path in (
            "/metrics", "/METRICS", "/admin/privacy/audit", "/Admin/privacy/erase", "/admin",
            "/console/", "/Console/signin", "/console/review/label",
        ):  # fmt: skip
            answer = client.request("POST" if path.endswith(("erase", "label")) else "GET", balancer["gateway"] + path)
            assert answer.status_code == 404 and "reached" not in answer.text, path
        assert client.get(balancer["gateway"] + "/who").status_code == 200


def test_a_websocket_passes_through_and_learns_the_client_address(balancer):
    replies = set()
    for _ in range(2):
        with connect(
            balancer["gateway"].replace("http", "ws") + "/ws",
            open_timeout=5,
            additional_headers={"X-Forwarded-For": "6.6.6.6"},
        ) as ws:
            name, _, address = ws.recv(timeout=5).partition(" sees ")
            assert address == "127.0.0.1"
            ws.send("hello")
            replies.add(ws.recv(timeout=5))
            time.sleep(0.2)
            ws.send("again")
            assert ws.recv(timeout=5) == f"{name}:again"
    assert replies == {"a:hello", "b:hello"}


@pytest.mark.parametrize("pool", ["rasa", "actions"])
def test_a_conversations_turns_go_to_one_server_and_move_only_when_it_is_down(balancer, backends, pool):
    """The gateways name a conversation in X-Conversation (bot/gateway/rasa.py), and Rasa does on
    its action calls (bot/rasa_server/patches/events_kept.py): its turns go to the Rasa server that
    has it in memory, its calls to the action server that holds its events; conversations spread
    over both; a server down costs none."""
    conversations = [conversation_key(f"widget:visitor-{i}") for i in range(16)]
    homes = {}
    for key in conversations:
        seen = who(balancer[pool], 4, **{"X-Conversation": key})
        assert len(seen) == 1 and set(seen) <= {"a", "b"}, seen
        homes[key] = next(iter(seen))
    assert set(homes.values()) == {"a", "b"}
    _a, b = backends
    b.stop()
    for key in conversations:
        assert who(balancer[pool], 2, **{"X-Conversation": key}) == Counter({"a": 2})


def test_a_killed_backend_costs_no_request_and_is_used_again_when_back(balancer, backends):
    _a, b = backends
    b.stop()
    for pool in haproxy.POOLS:  # the refused connection goes to a, and b is out at once
        assert who(balancer[pool], 6) == Counter({"a": 6}), pool
    b.start()  # same port
    eventually(lambda: all(who(url, 4)["b"] == 2 for url in balancer.values()))


def test_each_pool_checks_its_own_health_url(balancer, backends):
    a, _b = backends
    a.sick = {"/health"}  # the action server pool's check
    eventually(lambda: who(balancer["actions"], 4) == Counter({"b": 4}))
    assert who(balancer["gateway"], 4) == Counter({"a": 2, "b": 2})  # its /healthz is fine
    assert set(who(balancer["rasa"], 12)) == {"a", "b"}
    a.sick = {"/healthz"}
    eventually(lambda: who(balancer["gateway"], 4) == Counter({"b": 4}))
    eventually(lambda: who(balancer["actions"], 4) == Counter({"a": 2, "b": 2}))


def test_busy_rasa_servers_slow_to_answer_their_checks_stay_in(balancer, backends):
    """Every Rasa server saturated, each health answer seconds late: turns still reach them (the
    load benchmark's crowd got 503 for every turn when both were taken out at once)."""
    for backend in backends:
        backend.slow = {HEALTH["rasa"]: 3.0}
    time.sleep(9)  # several checks, each answered late
    assert set(who(balancer["rasa"], 12)) == {"a", "b"}
    for backend in backends:
        backend.slow = {}


def test_with_no_backend_left_the_client_is_told(balancer, backends):
    for backend in backends:
        backend.stop()
    for pool in haproxy.POOLS:
        answer = httpx.get(balancer[pool] + "/who", timeout=5, trust_env=False)
        assert answer.status_code == 503 and "No backend is available" in answer.text, answer.text
        assert answer.headers["retry-after"] == "5"


def test_both_configurations_pass_haproxys_own_check(tmp_path):
    """make run-prod's (loopback) and compose's (deploy/haproxy.cfg), with `haproxy -c`; and the
    policy holds in both: a timeout on every phase, every pool checked."""
    try:
        program = haproxy.binary()
    except haproxy.HaproxyMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    local = tmp_path / "haproxy.cfg"
    local.write_text(
        haproxy.loopback({p: free_port() for p in haproxy.POOLS}, {p: [free_port()] for p in haproxy.POOLS})
    )
    for config in (local, ROOT / "deploy" / "haproxy.cfg"):
        check = subprocess.run([program, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        text = config.read_text()
        for timeout in ("connect", "client", "server", "http-request", "http-keep-alive", "queue", "tunnel", "check"):
            assert f"\n    timeout {timeout} " in text, timeout
        assert text.count("option httpchk") == 3 and "default-server check " in text
