"""Faults for the fault tests: a TCP proxy that can delay answers (a slow backend), and a
redis-server of the test's own that can be restarted without touching anyone else's."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bot.launch.runner import free_port
from tests.conftest import IN_CI


class DelayProxy:
    """``127.0.0.1:listen`` -> ``127.0.0.1:upstream``. While ``delay_s`` > 0 each chunk of an answer
    is held that long before it is passed on: the backend did its work, but answers slowly.
    ``only``, when set, limits the delay to answers to requests whose first line starts with it
    (b"POST /v1/orders": the order is placed, its answer is late)."""

    def __init__(self, listen: int, upstream: int) -> None:
        self.listen, self.upstream = listen, upstream
        self.delay_s = 0.0
        self.only: bytes | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    def start(self) -> DelayProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        return self

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self.listen, reuse_address=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            writer.close()
            return

        last_request = [b""]  # the first bytes of the latest request on this connection

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, answers: bool) -> None:
            try:
                while data := await src.read(65536):
                    if not answers and data[:1].isalpha():
                        last_request[0] = data[:200]
                    if answers and self.delay_s > 0 and (self.only is None or last_request[0].startswith(self.only)):
                        await asyncio.sleep(self.delay_s)
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def need(what: str, ok: bool, hint: str) -> None:
    """Skip with a message when ``what`` is missing; under CI=true fail instead."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} is not available; under CI=true the fault tests never skip", pytrace=False)
    pytest.skip(f"{what} is not available: {hint}")


class RedisServer:
    """``redis-server`` on a free port, without persistence, owned by the test (restartable)."""

    def __init__(self, data: Path) -> None:
        self.binary = shutil.which("redis-server")
        need("redis-server", self.binary is not None, "apt-get install redis-server to run this test")
        self.port = free_port()
        self.data = data
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        log = open(self.data / f"redis-{self.port}.log", "ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} did not start (log in {self.data})")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # abrupt, like a crash: no goodbye to the clients
            self.process.wait(10)

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()
