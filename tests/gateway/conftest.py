"""Gateway fixtures: its state database (SQLite, or a throw-away PostgreSQL database when
TEST_DATABASE_URL names one, as make test-app-postgres does)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.gateway.state import GatewayState
from tests.conftest import _postgres_database


@pytest.fixture
def gateway_state(tmp_path) -> Iterator[GatewayState]:
    base = os.environ.get("TEST_DATABASE_URL")
    if base and not base.startswith("sqlite"):
        urls = _postgres_database(base)
        url = next(urls)
    else:
        urls, url = None, f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
    state = GatewayState(url)
    yield state
    state.dispose()
    if urls is not None:
        next(urls, None)
