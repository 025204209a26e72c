"""Fixtures for tests that run in the Rasa environment (Python 3.10): the real billing backend,
started with the app environment's Python on a fresh SQLite file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"

if sys.version_info[:2] != (3, 10):
    collect_ignore_glob = ["test_*.py"]  # these run under .venv/rasa: make test-rasa


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(process: subprocess.Popen, health_url: str, log_path: Path, name: str) -> None:
    """Until ``health_url`` answers 200; the test fails with the log if the process exits first or
    it does not answer in 60 s."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log_path.read_text()}", pytrace=False)
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer {health_url} in 60 s:\n{log_path.read_text()}", pytrace=False)
        time.sleep(0.2)


@pytest.fixture
def billing_url(tmp_path):
    """`python -m bot.billing` from the app environment, on a fresh SQLite file and a free port."""
    if not APP_PYTHON.exists():
        pytest.fail(
            f"{APP_PYTHON} is missing: the billing backend runs in the app environment. "
            "Build it first (make envs, or make test, which builds both).",
            pytrace=False,
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}",
        "BILLING_HOST": "127.0.0.1",
        "BILLING_PORT": str(port),
        "BILLING_PUBLIC_URL": url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": "",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "APP_ENV": "development",
        "SEED_ON_START": "true",  # as under make run
    }
    env.pop("VIRTUAL_ENV", None)
    log_path = tmp_path / "billing.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(APP_PYTHON), "-m", "bot.billing"], cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_up(process, f"{url}/healthz", log_path, "the billing backend")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


MODEL = ROOT / "models" / "account-assistant.tar.gz"


def model_or_skip() -> Path:
    """`make train`'s model; without one a test skips, and under CI=true fails (make test trains first)."""
    if not MODEL.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no trained model: under CI=true this test never skips (make train)", pytrace=False)
        pytest.skip("no trained model (make train)")
    return MODEL


@pytest.fixture(scope="session")
def trained_agent():
    """The trained model loaded once for every test that parses with it."""
    from rasa.core.agent import Agent

    return Agent.load(str(model_or_skip()))
