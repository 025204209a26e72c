"""The real billing backend (`python -m bot.billing`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bot.launch.runner import Service, free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICE_TOKEN = "dev-service-token"
START_TIMEOUT_S = 60


class BillingServer:
    """`with BillingServer(url, tmp) as server:` serves on server.url; output goes to server.log."""

    def __init__(self, database_url: str, tmp: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.outbox = tmp / "outbox"
        self.service = Service(
            "billing", [sys.executable, "-m", "bot.billing"], self._env(), f"{self.url}/healthz", self.log
        )

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            # the API measured with the laptop's settings, as `make run` serves it: production
            # refuses the development secrets (bot/settings_check.py)
            "APP_ENV": "development",
            "DATABASE_URL": self.database_url,
            "BILLING_HOST": "127.0.0.1",
            "BILLING_PORT": str(self.port),
            "BILLING_PUBLIC_URL": self.url,
            "BILLING_ACTIONS_TOKEN": SERVICE_TOKEN,
            "SMTP_URL": "",
            "OUTBOX_DIR": str(self.outbox),
        }

    def __enter__(self) -> BillingServer:
        self.service.start()
        try:
            self.service.wait_ready(START_TIMEOUT_S)
        except BaseException as exc:
            self.stop()
            raise RuntimeError(f"the billing backend did not start: {exc}\n{self.tail()}") from exc
        return self

    def stop(self) -> None:
        self.service.stop()

    def __exit__(self, *exc) -> None:
        self.stop()

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback (most recent call last)")

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        kept = [line for line in text if '" 20' not in line]  # drop successful access-log lines
        return "\n".join(f"    | {line}" for line in kept[-lines:]) or "    | (empty log)"
