"""Fixtures of the console's data tests: real SQLite files and a throw-away PostgreSQL database
(TEST_POSTGRES_URL; skipped without a server, failed under CI=true), and billing's real API on
loopback with the console's token (its own app: the session's billing_server has no console caller)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.console.data.billing import ConsoleBilling
from tests.conftest import LiveServer, reset
from tests.console.data.talk import Stores, stores

CONSOLE_TOKEN = "dev-billing-console-token"  # make run's development value


@pytest.fixture(params=["sqlite", "postgresql"])
def st(request, tmp_path) -> Iterator[Stores]:
    yield from stores(request.param, tmp_path)


@pytest.fixture(scope="session")
def console_billing_server(database) -> Iterator[LiveServer]:
    from bot.billing.api.app import create_app
    from bot.billing.config import get_settings

    settings = get_settings()
    before = settings.billing_console_token
    settings.billing_console_token = CONSOLE_TOKEN
    try:
        app = create_app(database)
    finally:
        settings.billing_console_token = before
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def billing(console_billing_server, database) -> Iterator[ConsoleBilling]:
    reset(database)
    client = ConsoleBilling(console_billing_server.url, CONSOLE_TOKEN, timeout=10)
    yield client
    client.close()
