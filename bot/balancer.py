"""A small TCP load balancer for the production topology (``make run-prod``, deploy/).

    python -m bot.balancer deploy/balancer.json

One listener per pool; each new client connection goes to the next healthy backend of its pool
(round robin), and the bytes are relayed both ways untouched, so HTTP keep-alive, request bodies
of any size and WebSocket upgrades all pass. Balancing is per connection, not per request: a
keep-alive connection stays on its backend until it closes.

Health: every backend is asked ``GET <health path>`` every ``check_every_s``; a 2xx answer puts it
in (again), anything else, or no answer within ``timeout_s``, takes it out. A backend that refuses a
connection is taken out at once and the client's connection is handed to the next one (nothing has
been sent yet, so that is safe): a killed replica costs its in-flight requests, not the next ones.
With no backend left, an HTTP client gets ``503`` with a short explanation.

Config (JSON):

    {"pools": [{"name": "gateway", "listen": "0.0.0.0:8080", "health": "/healthz", "forwarded_for": true,
                "backends": ["gateway-1:8080", "gateway-2:8080"]}],
     "connect_timeout_s": 2, "idle_timeout_s": 300, "check_every_s": 2, "check_timeout_s": 2}
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("balancer")

_SORRY = b"No backend is available right now. Please try again in a moment.\n"
UNAVAILABLE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Connection: close\r\nRetry-After: 5\r\nContent-Length: " + str(len(_SORRY)).encode()
               + b"\r\n\r\n" + _SORRY)
FALL = 2  # failed health checks in a row that take a backend out
CHUNK = 64 * 1024
MAX_HEAD = 32 * 1024


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{text!r}: expected host:port")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Settings:
    connect_timeout_s: float = 2.0
    idle_timeout_s: float = 300.0  # no byte either way this long: the connection is closed
    check_every_s: float = 2.0
    check_timeout_s: float = 2.0


@dataclass
class Backend:
    address: str
    up: bool = True  # optimistic at start: the first check corrects it within check_every_s
    failures: int = 0  # failed health checks in a row
    active: int = 0  # connections relayed now
    served: int = 0  # connections relayed so far

    @property
    def host_port(self) -> tuple[str, int]:
        return host_port(self.address)


@dataclass
class Pool:
    name: str
    listen: str
    health: str
    backends: list[Backend]
    settings: Settings = field(default_factory=Settings)
    # HTTP pools: the client's address goes to the backend in an X-Forwarded-For header on the
    # connection's first request (the gateway's per-address limits; a WebSocket is one request).
    forwarded_for: bool = False
    _next: int = 0
    _server: asyncio.base_events.Server | None = None

    # -- choosing ------------------------------------------------------------------------------------

    def order(self) -> list[Backend]:
        """The backends to try for a new connection: healthy ones from the round-robin position on,
        then the others (a backend marked down may be back before its next check)."""
        n = len(self.backends)
        start, self._next = self._next, (self._next + 1) % n
        ring = [self.backends[(start + i) % n] for i in range(n)]
        return [b for b in ring if b.up] + [b for b in ring if not b.up]

    def mark(self, backend: Backend, up: bool, why: str = "", *, checked: bool = False) -> None:
        """``checked``: a health check's verdict (FALL failures in a row take it out); otherwise a
        refused connection, which takes it out at once."""
        backend.failures = 0 if up else backend.failures + 1
        if checked and not up and backend.failures < FALL:
            return
        if backend.up != up:
            backend.up = up
            log.warning("%s: backend %s is %s%s", self.name, backend.address, "up" if up else "DOWN",
                        f" ({why})" if why else "")

    # -- relaying ------------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await self._first_head(reader, writer) if self.forwarded_for else b""
            for backend in self.order():
                try:
                    up_reader, up_writer = await asyncio.wait_for(
                        asyncio.open_connection(*backend.host_port), self.settings.connect_timeout_s)
                except (OSError, asyncio.TimeoutError) as error:
                    self.mark(backend, False, f"connect: {type(error).__name__}")
                    continue
                backend.active += 1
                backend.served += 1
                try:
                    if head:
                        up_writer.write(head)
                    await self._relay(reader, writer, up_reader, up_writer)
                finally:
                    backend.active -= 1
                return
            log.error("%s: no backend available", self.name)
            with contextlib.suppress(Exception):
                writer.write(UNAVAILABLE)
                await asyncio.wait_for(writer.drain(), self.settings.connect_timeout_s)
        finally:
            await _close(writer)

    async def _first_head(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        """The first request's head with X-Forwarded-For set to the client's address (what came, as
        is, if it isn't an HTTP head)."""
        data = b""
        with contextlib.suppress(asyncio.TimeoutError, OSError, asyncio.IncompleteReadError):
            while b"\r\n\r\n" not in data and len(data) < MAX_HEAD:
                chunk = await asyncio.wait_for(reader.read(CHUNK), self.settings.idle_timeout_s)
                if not chunk:
                    break
                data += chunk
        end = data.find(b"\r\n\r\n")
        peer = writer.get_extra_info("peername")
        if end < 0 or not peer:
            return data
        lines = [line for line in data[:end].split(b"\r\n")  # a client's own claim is dropped
                 if not line.lower().startswith(b"x-forwarded-for:")]
        return b"\r\n".join([*lines, f"X-Forwarded-For: {peer[0]}".encode()]) + data[end:]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        idle = self.settings.idle_timeout_s
        try:
            _set_nodelay(writer), _set_nodelay(up_writer)
            tasks = [asyncio.create_task(_pipe(reader, up_writer, idle)),
                     asyncio.create_task(_pipe(up_reader, writer, idle))]
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            # One side finished. A clean end of the client's request stream (half close) still waits
            # for the answer; an error or the backend closing ends both.
            first = done.pop()
            if tasks[0] is first and not first.exception() and first.result():
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(tasks[1], idle)
            for task in pending:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
        finally:
            await _close(up_writer)

    # -- health --------------------------------------------------------------------------------------

    async def check(self, backend: Backend) -> None:
        host, port = backend.host_port
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                    self.settings.check_timeout_s)
        except (OSError, asyncio.TimeoutError) as error:
            self.mark(backend, False, f"health check: {type(error).__name__}", checked=True)
            return
        try:
            writer.write(f"GET {self.health} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                         f"User-Agent: account-assistant-balancer\r\n\r\n".encode())
            await asyncio.wait_for(writer.drain(), self.settings.check_timeout_s)
            status = await asyncio.wait_for(reader.readline(), self.settings.check_timeout_s)
            parts = status.split()
            ok = len(parts) >= 2 and parts[1][:1] == b"2"
            self.mark(backend, ok, "" if ok else f"health check answered {status[:40]!r}", checked=True)
        except (OSError, asyncio.TimeoutError, ValueError) as error:
            self.mark(backend, False, f"health check: {type(error).__name__}", checked=True)
        finally:
            await _close(writer)

    async def watch(self) -> None:
        while True:
            await asyncio.gather(*(self.check(b) for b in self.backends))
            await asyncio.sleep(self.settings.check_every_s)

    async def start(self) -> None:
        host, port = host_port(self.listen)
        self._server = await asyncio.start_server(self.handle, host, port, backlog=1024, reuse_address=True)
        log.info("%s: listening on %s -> %s", self.name, self.listen, ", ".join(b.address for b in self.backends))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, idle: float) -> bool:
    """Copy until the source ends; True if it ended cleanly (EOF), passing the half close on."""
    while True:
        data = await asyncio.wait_for(source.read(CHUNK), idle)
        if not data:
            if sink.can_write_eof():
                with contextlib.suppress(OSError):
                    sink.write_eof()
            return True
        sink.write(data)
        await asyncio.wait_for(sink.drain(), idle)


def _set_nodelay(writer: asyncio.StreamWriter) -> None:
    import socket

    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2)


def load(config: dict[str, Any]) -> list[Pool]:
    keys = ("connect_timeout_s", "idle_timeout_s", "check_every_s", "check_timeout_s")
    settings = Settings(**{k: float(config[k]) for k in keys if k in config})
    pools = []
    for spec in config.get("pools") or []:
        backends = [Backend(str(a)) for a in spec.get("backends") or []]
        if not backends:
            raise ValueError(f"pool {spec.get('name')!r}: no backends")
        for b in backends:
            b.host_port  # noqa: B018 - validates host:port
        host_port(str(spec["listen"]))
        pools.append(Pool(str(spec["name"]), str(spec["listen"]), str(spec.get("health") or "/"), backends, settings,
                          forwarded_for=bool(spec.get("forwarded_for", False))))
    if not pools:
        raise ValueError("no pools configured")
    return pools


async def serve(pools: list[Pool], stop: asyncio.Event) -> None:
    for pool in pools:
        await pool.start()
    watchers = [asyncio.create_task(pool.watch(), name=f"health-{pool.name}") for pool in pools]
    try:
        await stop.wait()
    finally:
        for task in watchers:
            task.cancel()
        for pool in pools:
            await pool.stop()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m bot.balancer CONFIG.json")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        pools = load(json.loads(Path(args[0]).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"balancer: bad config {args[0]}: {error}") from None

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(pools, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
