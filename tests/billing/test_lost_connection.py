"""PostgreSQL cuts the billing API's connection in the middle of a request (a restart, a
failover): reads and keyed writes are run once more on a fresh connection and answer as if
nothing happened; other writes still answer 500; nothing is applied twice (bot/billing/api/retry.py).

The cut is real: just as the chosen statement starts, another connection terminates the
request's own backend (pg_terminate_backend). PostgreSQL only (SQLite has no connection to lose).
"""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event, text

from bot.billing.adapters.orm import Order, Quote
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

        def before(conn, _cursor, sql, *_args) -> None:  # noqa: ANN001
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


def api(billing_server) -> httpx.Client:
    return httpx.Client(base_url=billing_server.url, headers=HEADERS, timeout=15)


def test_a_read_cut_off_mid_query_answers_as_if_nothing_happened(billing_server, cut):
    done = cut("SELECT contracts.")
    r = api(billing_server).get("/v1/contracts")
    assert len(done) == 1
    assert r.status_code == 200, r.text
    assert {line["product"]: line["quantity"] for line in r.json()[0]["lines"]}["enterprise"] == 40


def test_a_read_cut_off_twice_answers_500_and_is_not_tried_a_third_time(billing_server, cut):
    done = cut("SELECT contracts.", times=3)
    r = api(billing_server).get("/v1/contracts")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    assert len(done) == 2


def test_an_order_cut_off_mid_write_is_placed_once(billing_server, db, cut):
    c = api(billing_server)
    q = c.post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"}).json()
    done = cut("INSERT INTO orders")
    r = c.post("/v1/orders", json={"quote": q["number"]}, headers={"Idempotency-Key": q["idempotency_key"]})
    assert len(done) == 1
    assert r.status_code == 201, r.text
    assert r.json()["resulting_quantity"] == 45
    assert quantity(db, "Acme Corp", "enterprise") == 45 and count(db, Order) == 1


def test_a_write_without_an_idempotency_key_is_not_run_twice(billing_server, db, cut):
    done = cut("INSERT INTO quotes")
    r = api(billing_server).post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"})
    assert len(done) == 1
    assert r.status_code == 500
    assert count(db, Quote) == 0
