"""Issue 17, item 6: the per-address limits could be dodged with a forged client address.

The old home-made balancer wrote ``X-Forwarded-For`` only on a connection's first request, so
the later requests of a kept-alive connection carried whatever the client had put there, and the
gateway believed it. The review opened a connection, sent one harmless request, then upgraded to
the widget's WebSocket with a new made-up address each time: the gateway's connections-per-address
limit never saw the same address twice.

Here, against the balancer exactly as ``make run-prod`` configures it (bot/launch/production.py):
- an echo backend in the gateway pool sees, on every request of a kept-alive connection (plain
  requests and a WebSocket upgrade), exactly the client's real address in ``X-Forwarded-For`` and
  no ``Forwarded`` or ``X-Real-IP`` at all, whatever the client forged;
- the real gateway keys its per-address limit on the real address: forged addresses, through the
  balancer or sent straight to a gateway replica (which trusts forwarded headers only from the
  balancer's own address), do not buy a fresh allowance.

The client connects from its own loopback address (all of 127/8 is this machine on Linux), so the
address the backend must see is not the balancer's and is known to the test.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bot.launch.production import ProdStack
from bot.launch.runner import APP_PY, MODEL, ROOT, free_port
from tests.conftest import _postgres_database
from tests.e2e.test_production import POSTGRES, _redis_or_skip

CLIENT = "127.0.0.3"  # the test client's own address: neither the balancer's nor 127.0.0.1
OTHER_CLIENT = "127.0.0.4"  # a second client, used once
CONNECTS_PER_IP = 3  # the gateway's widget connections per address and minute, for this module
_forged = (f"203.0.113.{n}" for n in itertools.count(1))  # a new made-up address each time


def forgeries() -> list[list[tuple[str, str]]]:
    """Ways a client claims another address: the headers proxies use, alone, repeated, in lists,
    with odd case, all at once. Each call gives new addresses."""
    a, b, c = next(_forged), next(_forged), next(_forged)
    return [
        [("X-Forwarded-For", a)],
        [("X-Forwarded-For", f"{a}, {b}")],
        [("x-forwarded-for", a), ("X-FORWARDED-FOR", b)],
        [("Forwarded", f"for={a};proto=https")],
        [("Forwarded", f'for="[2001:db8::{a.rsplit(".", 1)[1]}]:4711"')],
        [("X-Real-IP", a)],
        [("X-Forwarded-For", a), ("Forwarded", f"for={b}"), ("X-Real-IP", c)],
    ]


SEEN = ("x-forwarded-for", "forwarded", "x-real-ip")


class RawConnection:
    """One client TCP connection from ``source`` speaking HTTP/1.1 by hand: keep-alive, headers
    exactly as given (repeated or odd-cased ones too), and the socket handed on for a WebSocket."""

    def __init__(self, url: str, source: str) -> None:
        parts = urlsplit(url)
        self.host = f"{parts.hostname}:{parts.port}"
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10, source_address=(source, 0))

    def request(self, path: str, headers: list[tuple[str, str]]) -> tuple[int, dict[str, str], bytes]:
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}", *(f"{k}: {v}" for k, v in headers)]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)  # byte by byte: nothing past the answer is taken from the socket
            assert chunk, f"the connection closed after {head!r}"
            head += chunk
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        answer = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        assert "chunked" not in answer.get("transfer-encoding", ""), answer
        body = b""
        while len(body) < int(answer.get("content-length", "0")):
            chunk = self.sock.recv(65536)
            assert chunk, "the connection closed in the middle of an answer"
            body += chunk
        return int(status_line.split()[1]), answer, body

    def close(self) -> None:
        self.sock.close()


# -- the balancer in front of an echo backend ------------------------------------------------------


class Echo:
    """The gateway pool's only backend: answers its health check, and tells which forwarding
    headers (every value) each request and each WebSocket handshake came with."""

    def __init__(self, port: int) -> None:
        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> Response:
            return Response("ok")

        @app.get("/echo")
        async def echo(request: Request) -> dict[str, list[str]]:
            return {name: request.headers.getlist(name) for name in SEEN}

        @app.websocket("/ws")
        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.send_text(json.dumps({name: websocket.headers.getlist(name) for name in SEEN}))
            await websocket.close()

        # no proxy_headers: the raw headers are the point
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", proxy_headers=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Echo:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the echo backend did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def echo_balancer(tmp_path_factory) -> Iterator[str]:
    """The balancer of `make run-prod`, started alone (nothing else of the stack), its gateway pool
    pointing at the echo backend."""
    port = free_port()
    stack = ProdStack(
        data_dir=tmp_path_factory.mktemp("forwarded-echo"),
        billing_db="postgresql://unused/b",
        tracker_db="postgresql://unused/t",
        gateway_db="postgresql://unused/g",
        replicas=1,
        replica_ports={"gateway": [port], "rasa": [free_port()], "actions": [free_port()]},
    )
    with Echo(port):
        balancer = stack._services()["balancer"][0]  # the command and configuration start() would use
        balancer.start()
        try:
            balancer.wait_ready(20)
            yield stack.gateway_url
        finally:
            balancer.stop()


def test_every_request_of_a_kept_alive_connection_carries_the_real_client_address(echo_balancer):
    connection = RawConnection(echo_balancer, CLIENT)
    try:
        first = connection.sock
        for forged in [[], *forgeries(), *forgeries()]:
            status, headers, body = connection.request("/echo", forged)
            assert status == 200 and "close" not in headers.get("connection", "").lower(), (status, headers)
            assert json.loads(body) == {"x-forwarded-for": [CLIENT], "forwarded": [], "x-real-ip": []}, forged
        assert connection.sock is first  # all of them on the one connection
    finally:
        connection.close()


@pytest.mark.parametrize("forged", forgeries(), ids=lambda f: "+".join(k.lower() for k, _ in f))
def test_a_websocket_upgrade_later_on_a_kept_alive_connection_carries_the_real_client_address(echo_balancer, forged):
    connection = RawConnection(echo_balancer, CLIENT)
    try:
        assert connection.request("/echo", [])[0] == 200  # a harmless first request
        with connect(
            echo_balancer.replace("http://", "ws://") + "/ws",
            sock=connection.sock,
            additional_headers=forged,
            open_timeout=10,
        ) as ws:
            seen = json.loads(ws.recv(timeout=10))
        assert seen == {"x-forwarded-for": [CLIENT], "forwarded": [], "x-real-ip": []}, forged
    finally:
        connection.close()


# -- the real gateway's per-address limit --------------------------------------------------------


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> Iterator[ProdStack]:
    """`make run-prod`'s topology with one replica of each, its per-address connection limit low."""
    _redis_or_skip()
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`", pytrace=False)
    makers = [_postgres_database(POSTGRES) for _ in range(3)]
    billing_url, tracker_url, gateway_url = (next(m) for m in makers)
    stack = ProdStack(
        data_dir=tmp_path_factory.mktemp("forwarded-prod"),
        billing_db=billing_url,
        tracker_db=tracker_url,
        gateway_db=gateway_url,
        prefix=f"sec{uuid.uuid4().hex[:8]}",
        replicas=1,
        extra_env={"WIDGET_CONNECTS_PER_IP": str(CONNECTS_PER_IP)},
    )
    try:
        with stack:
            yield stack
    finally:
        for maker in makers:
            next(maker, None)


def widget_connect(stack: ProdStack, url: str, source: str, forged: list[tuple[str, str]], *, warm_up: bool) -> bool:
    """Open the widget's socket at ``url`` from ``source`` claiming another address (after a
    harmless request on the same connection with ``warm_up``): True if the chat started, False if
    the gateway refused it as too many connections from one address."""
    connection = RawConnection(url, source)
    try:
        if warm_up:
            assert connection.request("/healthz", [])[0] == 200
        with connect(
            url.replace("http://", "ws://") + "/widget/ws",
            sock=connection.sock,
            origin=stack.gateway_url,
            additional_headers=forged,
            open_timeout=15,
        ) as ws:
            with contextlib.suppress(ConnectionClosed):  # a refused one is closed at once
                ws.send(json.dumps({"type": "hello", "visitor": None, "jwt": None, "since": 0}))
            first = json.loads(ws.recv(timeout=15))  # what came before the close is still read
        if first.get("type") == "error":
            assert first.get("code") == "rate_limited", first
            return False
        assert first.get("type") == "welcome", first
        return True
    finally:
        connection.close()


def attempts(stack: ProdStack, url: str, source: str, *, warm_up: bool) -> list[bool]:
    """Twice the limit's worth of connections and more, each claiming addresses never used before."""
    tries = [f for _ in range(2) for f in forgeries()][: 2 * CONNECTS_PER_IP + 4]
    return [widget_connect(stack, url, source, forged, warm_up=warm_up) for forged in tries]


def test_forged_addresses_through_the_balancer_do_not_dodge_the_per_address_limit(prod):
    started = attempts(prod, prod.gateway_url, CLIENT, warm_up=True)
    # Every one counts against the client's real address: at most the limit (and what refills
    # meanwhile) gets through, whichever address each claimed.
    assert started.count(True) <= CONNECTS_PER_IP + 1, started
    assert not any(started[CONNECTS_PER_IP + 1 :]), started
    # ... and it is the client's own address, not the balancer's: another client is not held back.
    assert widget_connect(prod, prod.gateway_url, OTHER_CLIENT, forgeries()[0], warm_up=True)


@pytest.mark.parametrize("source", ["127.0.0.1", CLIENT])
def test_forged_addresses_sent_straight_to_a_gateway_do_not_dodge_the_per_address_limit(prod, source):
    """A local process talking to a gateway replica directly, without the balancer: the gateway
    trusts forwarded headers only from the balancer's own address, so the claim changes nothing."""
    started = attempts(prod, prod.replica_url("gateway", 0), source, warm_up=False)
    assert started.count(True) <= CONNECTS_PER_IP + 1, started
    assert not any(started[CONNECTS_PER_IP + 1 :]), started


# -- whom a gateway believes -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["*", "127.0.0.2, *", "balancer", "10.0.0.0/33"])
def test_a_gateway_refuses_to_believe_everyone_or_a_name_it_cannot_check(value, tmp_path):
    """``*`` lets any client that reaches a gateway pick its address; a host name or a malformed
    network would silently match nothing (uvicorn takes it as a literal): all refused at start."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FORWARDED_ALLOW_IPS": value,
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.sqlite3'}",
    }
    run = subprocess.run(
        [str(APP_PY), "-m", "bot.gateway"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0 and "FORWARDED_ALLOW_IPS" in run.stderr, run.stderr[-2000:]
