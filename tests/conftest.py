"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL), seeded
afresh for every test, and the billing API served by a real uvicorn on loopback."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import text

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Base
from bot.billing.migrate import upgrade
from bot.billing.seed import seed
from bot.billing.services.access import Actor
from tests.throwaway_db import PostgresUnavailable, throwaway_postgres

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The services built in this process (the billing API, the gateway) are development ones, as under
# make run; tests of production's checks pass their environment explicitly.
os.environ.setdefault("APP_ENV", "development")

# The demo identities (bot/billing/seed/demo.json).
ALEX = Actor("alex@acme.example", channel="test")  # Acme (Enterprise), system admin + Manage Billing
PRIYA = Actor("priya@acme.example", channel="test")  # Acme, Manage Billing only
SAM = Actor("sam@acme.example", channel="test")  # Acme, no Manage Billing
OLIVIA = Actor("olivia@bluebird.example", channel="test")  # Bluebird (Essentials, EUR), admin
TOM = Actor("tom@bluebird.example", channel="test")  # Bluebird, no Manage Billing


def _postgres_database(base_url: str) -> Iterator[str]:
    try:
        with throwaway_postgres(base_url, "aa_test") as url:
            yield url
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"{exc}; under CI=true the PostgreSQL tests never skip", pytrace=False)
        pytest.skip(f"{exc}; start it (see README) to run the PostgreSQL tests")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if base and not base.startswith("sqlite"):
        yield from _postgres_database(base)
    else:
        yield base or f"sqlite:///{tmp_path_factory.mktemp('db') / 'billing.sqlite3'}"


@pytest.fixture(scope="session")
def database(database_url) -> Iterator[Database]:
    upgrade(database_url)
    db = Database.connect(database_url)
    yield db
    db.dispose()


def reset(db: Database) -> None:
    """Empty every table and load the demo data again."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.session(write=True) as s:
        if db.is_sqlite:
            for name in tables:
                s.execute(text(f"DELETE FROM {name}"))
        else:
            s.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        seed(s)


@pytest.fixture
def db(database) -> Database:
    reset(database)
    return database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the billing API did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def billing_server(database) -> Iterator[LiveServer]:
    """The billing API on a real socket, on the test database."""
    from bot.billing.api.app import create_app
    from bot.billing.config import get_settings

    with LiveServer(create_app(database)) as server:
        settings = get_settings()
        old = settings.billing_public_url
        settings.billing_public_url = server.url
        yield server
        settings.billing_public_url = old


SERVICE_TOKEN = "dev-service-token"


# -- a real SMTP server on loopback ---------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    handler = Collector()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    handler.port, handler.logins = controller.port, logins
    yield handler
    controller.stop()


# The real stack (tests/e2e/stack.py), one per session for tests/e2e and tests/security alike.
from tests.e2e.stack import billing_db, chat, stack  # noqa: E402, F401
