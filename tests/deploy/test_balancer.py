"""The load balancer of the production topology (bot/balancer.py), as its own process in front of
two small HTTP + WebSocket backends: round robin, WebSockets pass, a backend that is down or
unhealthy is taken out (and its connections go to the other) and put back when it returns, and
with none left the client gets a 503 that says so."""
from __future__ import annotations

import json
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

from bot.runner import APP_PY, ROOT, free_port


class Backend:
    """A tiny app on a fixed port that says its name; ``healthy`` decides its /healthz."""

    def __init__(self, name: str) -> None:
        self.name, self.port, self.healthy = name, free_port(), True
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> Response:
            return Response("ok" if self.healthy else "sick", status_code=200 if self.healthy else 500)

        @app.get("/who")
        async def who() -> Response:
            return Response(self.name)

        @app.post("/echo")
        async def echo(request: Request) -> Response:
            return Response(await request.body(), headers={"x-seen-for": request.headers.get("x-forwarded-for", "")})

        @app.websocket("/ws")
        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            while True:
                await websocket.send_text(f"{self.name}:{await websocket.receive_text()}")

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
def balancer(backends, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    config = {"pools": [{"name": "web", "listen": f"127.0.0.1:{port}", "health": "/healthz", "forwarded_for": True,
                         "backends": [f"127.0.0.1:{b.port}" for b in backends]}],
              "connect_timeout_s": 1, "idle_timeout_s": 30, "check_every_s": 0.3, "check_timeout_s": 1}
    (tmp_path / "lb.json").write_text(json.dumps(config))
    log = open(tmp_path / "lb.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([str(APP_PY), "-m", "bot.balancer", str(tmp_path / "lb.json")], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(url + "/healthz", timeout=1, trust_env=False)
                break
            except httpx.HTTPError:
                assert process.poll() is None, (tmp_path / "lb.log").read_text()
                assert time.monotonic() < deadline, "balancer did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def who(url: str, n: int) -> Counter:
    """``n`` requests, each on a new connection (balancing is per connection)."""
    seen: Counter = Counter()
    for _ in range(n):
        answer = httpx.get(url + "/who", timeout=5, trust_env=False, headers={"Connection": "close"})
        seen[answer.text if answer.status_code == 200 else answer.status_code] += 1
    return seen


def eventually(condition, timeout: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_connections_go_round_robin(balancer):
    assert who(balancer, 6) == Counter({"a": 3, "b": 3})


def test_requests_pass_intact_and_the_backend_learns_the_client_address(balancer):
    body = b"x" * 200_000  # more than one read of the head
    with httpx.Client(trust_env=False, timeout=5) as client:
        first = client.post(balancer + "/echo", content=body, headers={"X-Forwarded-For": "6.6.6.6"})
        again = client.post(balancer + "/echo", content=b"kept alive")  # same connection: relayed as is
    assert first.content == body and first.headers["x-seen-for"] == "127.0.0.1"
    assert again.content == b"kept alive"


def test_a_websocket_passes_through(balancer):
    replies = set()
    for _ in range(2):
        with connect(balancer.replace("http", "ws") + "/ws", open_timeout=5) as ws:
            ws.send("hello")
            replies.add(ws.recv(timeout=5))
            ws.send("again")
            assert ws.recv(timeout=5).endswith(":again")
    assert replies == {"a:hello", "b:hello"}


def test_a_backend_that_goes_down_is_skipped_at_once_and_used_again_when_back(balancer, backends):
    a, b = backends
    b.stop()
    assert who(balancer, 4) == Counter({"a": 4})  # no failed request: refused connections go to a
    b.start()  # same port
    eventually(lambda: who(balancer, 4)["b"] == 2)


def test_an_unhealthy_backend_is_taken_out_until_its_health_check_passes(balancer, backends):
    a, b = backends
    a.healthy = False
    eventually(lambda: who(balancer, 4) == Counter({"b": 4}))
    a.healthy = True
    eventually(lambda: who(balancer, 4) == Counter({"a": 2, "b": 2}))


def test_with_no_backend_left_the_client_is_told(balancer, backends):
    for backend in backends:
        backend.stop()
    answer = httpx.get(balancer + "/who", timeout=5, trust_env=False)
    assert answer.status_code == 503 and "No backend is available" in answer.text
