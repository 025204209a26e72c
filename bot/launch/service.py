"""One process of the stack (bot/launch/runner.py): started with its log file, asked for its health
until it answers, and stopped with its whole process group; and a free port for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    log_path: Path
    cwd: Path = ROOT
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def failed(self) -> str | None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace").splitlines()[-40:]
            return f"{self.name} exited with {self.process.returncode}:\n" + "\n".join(tail)
        return None

    def wait_ready(self, timeout: float) -> None:
        """Until the health URL answers; raises with the log's tail if the process exits first."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if (problem := self.failed()) is not None:
                raise RuntimeError(problem)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready within {timeout:.0f} s (log: {self.log_path})")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
