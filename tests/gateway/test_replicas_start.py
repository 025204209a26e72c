"""Replicas started at once on a fresh database all come up: each creates the tables it needs
where missing (the gateway's state, widget history, handoffs, ratings, the privacy stores and
audit; the console's staff and its audit), and two of them doing so at the same moment must not
fail one of them. On SQLite, and on a throw-away PostgreSQL database when TEST_DATABASE_URL
names a server (make test-app-postgres)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import inspect

from bot.console.auth.staff import Staff
from bot.console.staff_audit import StaffAudit
from bot.gateway.handoff.store import HandoffStore
from bot.gateway.ratings import Ratings
from bot.gateway.state import GatewayState
from bot.gateway.widget.history import History
from bot.privacy.audit import Audit
from bot.privacy.gateway_rows import gateway_stores
from tests.conftest import _postgres_database

REPLICAS = 6
ROUNDS = 3


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[Callable[[], str]]:
    """A function giving a new, empty database's URL each time it is called."""
    base = os.environ.get("TEST_DATABASE_URL")
    made: list[Iterator[str]] = []

    def fresh() -> str:
        if base and not base.startswith("sqlite"):
            urls = _postgres_database(base)
            made.append(urls)
            return next(urls)
        return f"sqlite:///{tmp_path / f'gateway-{len(made)}.sqlite3'}"

    yield fresh
    for urls in made:
        next(urls, None)


def _start_gateway(url: str) -> GatewayState:
    state = GatewayState(url)
    engine = state.engine
    History(engine)
    HandoffStore(engine)
    Ratings(engine)
    gateway_stores(engine)
    Audit(engine)
    Staff(engine, admins=set(), default_role="viewer")
    StaffAudit(engine)
    return state


def _start_at_once(url: str) -> tuple[list[GatewayState], list[BaseException]]:
    """REPLICAS replicas' starts, released together; the states that came up and what the others died of."""
    ready = threading.Barrier(REPLICAS)
    failures: list[BaseException] = []
    states: list[GatewayState] = []

    def replica() -> None:
        ready.wait()
        try:
            states.append(_start_gateway(url))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=replica) for _ in range(REPLICAS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return states, failures


def test_replicas_started_at_once_on_a_fresh_database_all_come_up(fresh_url):
    for _ in range(ROUNDS):  # the race is a matter of timing: several fresh databases
        states, failures = _start_at_once(fresh_url())
        try:
            assert not failures, [f"{type(f).__name__}: {str(f).splitlines()[0]}" for f in failures]
            tables = set(inspect(states[0].engine).get_table_names())
            assert {"widget_messages", "gateway_handoffs", "console_staff_audit"} <= tables
        finally:
            for state in states:
                state.dispose()


def test_the_console_starts_while_the_retention_job_runs(fresh_url):
    """The console's start takes a lock for its audit table's guard; the retention job holds its
    own lock for its whole run (bot/privacy/retention.py): they must be different locks, or a
    console replica waits for the job to end."""
    from sqlalchemy import create_engine, text

    from bot.privacy.retention import LOCK_ID

    url = fresh_url()
    if not url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's (TEST_DATABASE_URL)")
    engine = create_engine(url)
    started: list[StaffAudit] = []
    try:
        with engine.connect() as job:
            assert job.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": LOCK_ID}).scalar()
            console = threading.Thread(target=lambda: started.append(StaffAudit(engine)), daemon=True)
            console.start()
            console.join(timeout=10)
            assert started, "the console's start waited for the retention job's lock"
            job.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
    finally:
        engine.dispose()
