"""The real billing backend (`python -m bot.billing`) as a subprocess on a free loopback port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVICE_TOKEN = "dev-service-token"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BillingServer:
    """`with BillingServer(url, tmp) as server:` serves on server.url; output goes to server.log."""

    def __init__(self, database_url: str, tmp: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.outbox = tmp / "outbox"
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.database_url,
            "BILLING_HOST": "127.0.0.1",
            "BILLING_PORT": str(self.port),
            "BILLING_PUBLIC_URL": self.url,
            "BILLING_SERVICE_TOKENS": SERVICE_TOKEN,
            "SMTP_URL": "",
            "OUTBOX_DIR": str(self.outbox),
        }

    def __enter__(self) -> BillingServer:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.billing"], cwd=ROOT, env=self._env(),
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the billing backend exited with {self.proc.returncode} on start\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the billing backend did not answer /healthz within {START_TIMEOUT_S} s\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback (most recent call last)")

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        kept = [line for line in text if '" 20' not in line]  # drop successful access-log lines
        return "\n".join(f"    | {line}" for line in kept[-lines:]) or "    | (empty log)"
