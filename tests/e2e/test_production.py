"""The production configuration of Rasa (bot/endpoints.prod.yml) on this machine's PostgreSQL and
Redis: conversations in Rasa's SQL tracker store, a Redis lock store, two Sanic worker processes
serving the same conversations, and billing on PostgreSQL too. Golden conversation 1 through it:
one order, and every turn of the conversation in PostgreSQL.

Without PostgreSQL or Redis these tests skip with a message; under CI=true they fail instead."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Order
from bot.launch.runner import MODEL, ROOT, Stack
from tests.billing.helpers import count, quantity
from tests.conftest import IN_CI, _postgres_database
from tests.e2e.stack import Conversation

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _redis_or_skip() -> None:
    import socket

    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as exc:
        message = f"Redis at {REDIS_HOST}:{REDIS_PORT} is not reachable ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; under CI=true the production tests never skip", pytrace=False)
        pytest.skip(f"{message}; start it (see README) to run the production tests")


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> Iterator[tuple[Stack, str, Database]]:
    _redis_or_skip()
    billing_dbs, tracker_dbs = _postgres_database(POSTGRES), _postgres_database(POSTGRES)
    billing_url, tracker_url = next(billing_dbs), next(tracker_dbs)
    env = {
        "RASA_DB_HOST": "127.0.0.1",
        "RASA_DB_PORT": "5432",
        "RASA_DB_NAME": tracker_url.rsplit("/", 1)[1],
        "RASA_DB_USER": "postgres",
        "RASA_DB_PASSWORD": "",
        "REDIS_HOST": REDIS_HOST,
        "REDIS_PORT": str(REDIS_PORT),
        "REDIS_DB": "0",
        "REDIS_USERNAME": "",
        "REDIS_PASSWORD": "",
        "RASA_LOCK_PREFIX": f"e2e{uuid.uuid4().hex[:8]}",
        "SANIC_WORKERS": "2",
    }
    stack = Stack(
        data_dir=tmp_path_factory.mktemp("prod"),
        model=MODEL,
        endpoints=ROOT / "bot" / "endpoints.prod.yml",
        database_url=billing_url,
        extra_env=env,
    )
    with stack:
        db = Database.connect(billing_url)
        yield stack, tracker_url, db
        db.dispose()
    for dbs in (billing_dbs, tracker_dbs):
        next(dbs, None)


def test_golden_1_on_postgresql_and_redis_with_two_rasa_workers(prod):
    stack, tracker_url, db = prod
    alex = Conversation(stack, "alex")
    try:
        quote = alex.text("add 5 licenses")
        assert "$165.00" in quote, quote
        done = alex.press("Yes")
        assert re.search(r"ORD-\d+", done), done
        alex.text("yes")  # a second yes orders nothing
    finally:
        alex.client.close()
    assert count(db, Order) == 1 and quantity(db, "Acme Corp", "enterprise") == 45
    engine = create_engine(tracker_url)
    try:
        with engine.connect() as conn:
            said = conn.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": alex.sender}
            ).scalar_one()
    finally:
        engine.dispose()
    assert said == 3  # every user turn is in PostgreSQL
    assert len(_children(stack.service("rasa").process.pid)) == 2  # two Sanic workers served it


def _children(pid: int) -> list[int]:
    from pathlib import Path

    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found
