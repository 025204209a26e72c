"""The real parts the console's web tests run on: the console app on a real uvicorn (lifespan on, so
the background indexer runs), the mock OpenID provider, SQLite databases with Rasa's ``events`` table
and the gateway's tables, conversations written there as Rasa writes them, and a staff member's
browser (httpx, cookies kept) that signs in through the provider step by step."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bot.console.app import Console, create_app
from bot.console.config import ROOT, ConsoleSettings
from tests.conftest import free_port
from tests.oidc_mock import OidcMock
from tests.privacy.rows import events

CLIENT_ID = "1234567890.console"
CLIENT_SECRET = "console-client-secret-for-tests-0123456789"
TEAM = "TVENDOR1"


class Server:
    """An ASGI app on a real socket on loopback, lifespan included."""

    def __init__(self, app: object, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def settings_for(tmp: Path, oidc: OidcMock, port: int, **more: object) -> ConsoleSettings:
    """The console's settings for a test: its files under ``tmp``, where the reviewed-data file sits
    beside a copy of the repository's training data (which a label must not repeat), as in nlu_data/."""
    nlu = tmp / "nlu_data"
    if not nlu.exists():
        shutil.copytree(ROOT / "nlu_data", nlu, ignore=shutil.ignore_patterns("reviewed.yml"))
    values: dict[str, object] = {
        "console_port": port,
        "console_public_url": f"http://127.0.0.1:{port}",
        "console_database_url": f"sqlite:///{tmp / 'console.sqlite3'}",
        "rasa_tracker_url": f"sqlite:///{tmp / 'rasa.sqlite3'}",
        "gateway_database_url": f"sqlite:///{tmp / 'gateway.sqlite3'}",
        "console_index_interval_s": 0.2,
        "billing_url": f"http://127.0.0.1:{free_port()}",  # nobody there: the index does without
        "console_oidc_issuer": oidc.issuer,
        "console_oidc_client_id": CLIENT_ID,
        "console_oidc_client_secret": CLIENT_SECRET,
        "console_slack_team": TEAM,
        "console_admins": "UADMIN01",
        "console_reviewed_file": tmp / "nlu_data" / "reviewed.yml",
        "console_tests_dir": tmp / "tests" / "conversations",
        "console_domain_dir": ROOT / "bot" / "domain",
        "console_session_key": "console-session-key-for-tests-0123456789abcdef",
        **more,
    }
    return ConsoleSettings(**values)  # type: ignore[arg-type]


@dataclass
class Running:
    console: Console
    url: str
    settings: ConsoleSettings

    def browser(self) -> Staff:
        return Staff(self.url)

    def index(self) -> None:
        """Until the background indexer has read every event written so far."""
        assert self.console.indexer is not None
        deadline = time.monotonic() + 20
        while self.console.indexer.run_once() and time.monotonic() < deadline:
            pass


def run_console(settings: ConsoleSettings, dev_token: str = "") -> Iterator[Running]:
    console = Console.from_settings(settings, dev_token=dev_token)
    with Server(create_app(console), settings.console_port) as server:
        yield Running(console, server.url, settings)


# -- conversations as Rasa writes them --------------------------------------------------------------


@dataclass
class Tracker:
    engine: Engine
    clock: datetime = field(default_factory=lambda: datetime.now(timezone.utc) - timedelta(hours=1))

    def _event(self, sender: str, kind: str, data: dict[str, object], **columns: object) -> None:
        self.clock += timedelta(seconds=2)
        ts = self.clock.timestamp()
        with self.engine.begin() as conn:
            conn.execute(
                insert(events).values(
                    sender_id=sender,
                    type_name=kind,
                    timestamp=ts,
                    data=json.dumps({**data, "event": kind, "timestamp": ts}),
                    **columns,
                )
            )

    def turn(
        self,
        sender: str,
        text: str,
        intent: str,
        reply: str,
        *,
        confidence: float = 0.97,
        channel: str = "widget",
        email: str | None = None,
        task: str | None = None,
        fallback: bool = False,
    ) -> None:
        """A customer message, the actions Rasa ran, the bot's reply (with a task marker if one was done)."""
        metadata: dict[str, object] = {"channel": channel}
        if email:
            metadata["identity"] = {"email": email}
        parse = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
        self._event(sender, "user", {"text": text, "parse_data": parse, "metadata": metadata}, intent_name=intent)
        action = "action_default_fallback" if fallback else "utter_reply"
        self._event(sender, "action", {"name": action}, action_name=action)
        custom = {"custom": {"task_done": task}} if task else {}
        self._event(sender, "bot", {"text": reply, "data": custom, "metadata": {}})


# -- a staff member's browser ----------------------------------------------------------------------------


class Staff:
    """Cookies kept, redirects followed by hand so a test can stop at any step."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(timeout=20, trust_env=False)

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.http.get(self.base + path if path.startswith("/") else path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object] | None = None, **kw: object) -> httpx.Response:
        return self.http.post(self.base + path, data=data, **kw)  # type: ignore[arg-type]

    def start(self) -> httpx.Response:
        """The console's redirect to the provider (the flow cookie is set)."""
        return self.get("/console/signin/slack")

    def authorize(self, start: httpx.Response) -> str:
        """The provider approves as its chosen user: the callback URL it sends the browser to."""
        answer = self.http.get(start.headers["location"])
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def sign_in(self) -> httpx.Response:
        """The whole flow; the console's answer to the callback (303 to the console when signed in)."""
        return self.get(self.authorize(self.start()))

    def csrf(self, path: str = "/console/") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        marker = 'name="csrf" value="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]

    @property
    def signed_in(self) -> bool:
        return self.get("/console/").status_code == 200

    def close(self) -> None:
        self.http.close()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
