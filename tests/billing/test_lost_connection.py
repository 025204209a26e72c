"""PostgreSQL cuts the billing API's connection in the middle of a request (a restart, a
failover): the API answers 503 (bot/billing/api/app.py), and the billing client's own retry
policy (bot/billing_client/_http.py) runs reads and keyed writes once more on a fresh connection,
so the caller gets its answer; other writes are not repeated; nothing is applied twice.

The cut is real: just as the chosen statement starts, another connection terminates the
request's own backend (pg_terminate_backend). PostgreSQL only (SQLite has no connection to lose).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import event, text

from bot.billing.adapters.orm import Order, Quote
from bot.billing_client import BillingClient, Unavailable
from tests.billing.helpers import count, quantity
from tests.conftest import SERVICE_TOKEN

HEADERS = {"X-Channel": "test", "X-Acting-User": "alex@acme.example", "Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def cut(db):
    """cut(statement, times): terminate the connection running each of the next ``times``
    statements that start with ``statement``; returns the list of statements cut so far."""
    if db.is_sqlite:
        pytest.skip("a lost database connection is a PostgreSQL matter (this module also runs there)")
    listeners = []

    def arm(statement: str, times: int = 1) -> list[str]:
        done: list[str] = []

        def before(conn, _cursor, sql, *_args) -> None:
            if len(done) < times and " ".join(sql.split()).upper().startswith(statement.upper()):
                pid = conn.connection.dbapi_connection.info.backend_pid
                done.append(sql)
                with db.writer.connect() as admin:  # another connection, as a restart would
                    admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        event.listen(db.writer, "before_cursor_execute", before)
        listeners.append(before)
        return done

    yield arm
    for before in listeners:
        event.remove(db.writer, "before_cursor_execute", before)


def as_alex(billing_server, work):
    """Run ``work(client)`` with the billing client as Alex, as the action server uses it."""

    async def run():
        async with BillingClient(billing_server.url, SERVICE_TOKEN) as client:
            return await work(client.as_user("alex@acme.example", channel="test"))

    return asyncio.run(run())


def test_the_api_answers_503_when_its_connection_is_cut(billing_server, cut):
    done = cut("SELECT contracts.")
    r = httpx.get(f"{billing_server.url}/v1/contracts", headers=HEADERS, timeout=15)
    assert len(done) == 1
    assert r.status_code == 503 and r.json()["error"]["code"] == "database_unavailable"


def test_a_read_cut_off_mid_query_answers_as_if_nothing_happened(billing_server, cut):
    done = cut("SELECT contracts.")
    contracts = as_alex(billing_server, lambda alex: alex.contracts())
    assert len(done) == 1
    assert {line.product: line.quantity for line in contracts[0].lines}["enterprise"] == 40


def test_a_read_cut_off_every_time_gives_up_within_the_clients_retries(billing_server, cut):
    done = cut("SELECT contracts.", times=10)
    with pytest.raises(Unavailable):
        as_alex(billing_server, lambda alex: alex.contracts())
    assert len(done) == 3  # the first try and the client's two retries


def test_an_order_cut_off_mid_write_is_placed_once(billing_server, db, cut):
    cuts: dict[str, list[str]] = {}

    async def order(alex):
        quote = await alex.quote_add_licenses(5, product="enterprise")
        cuts["order"] = cut("INSERT INTO orders")  # the quote goes through; the order is cut
        return await alex.place_order(quote, idempotency_key=quote.idempotency_key)

    placed = as_alex(billing_server, order)
    assert len(cuts["order"]) == 1
    assert placed.resulting_quantity == 45
    assert quantity(db, "Acme Corp", "enterprise") == 45 and count(db, Order) == 1


def test_a_write_without_an_idempotency_key_is_not_run_twice(billing_server, db, cut):
    done = cut("INSERT INTO quotes", times=10)
    with pytest.raises(Unavailable):
        as_alex(billing_server, lambda alex: alex.quote_add_licenses(5, product="enterprise"))
    assert len(done) == 1
    assert count(db, Quote) == 0
