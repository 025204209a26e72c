"""Concurrent orders on one contract, with real concurrent sessions (threads, own connections).

On PostgreSQL (make test runs this file there too) the contract row lock serializes them; on
SQLite, BEGIN IMMEDIATE does. Either way no update is lost and no order is applied twice.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import IntegrityError

from bot.billing.adapters.orm import Payment
from bot.billing.domain.errors import BillingError
from bot.billing.payments.sandbox import SandboxProvider
from bot.billing.services import orders, payments, quotes
from tests.billing.helpers import count, quantity
from tests.billing.helpers import orders as n_orders
from tests.conftest import ALEX, PRIYA

WORKERS = 8


def run_together(fn, args_list):
    barrier = threading.Barrier(len(args_list))

    def call(args):
        barrier.wait()
        for attempt in range(3):
            try:
                return fn(*args)
            except IntegrityError:  # a twin committed the same key first: the API retries once
                if attempt == 2:
                    raise

    with ThreadPoolExecutor(len(args_list)) as pool:
        return list(pool.map(call, args_list))


def test_concurrent_orders_on_one_contract_lose_no_update(db):
    amounts = [1, 2, 3, 4, 5, 6, 7, 8][:WORKERS]
    qs = []
    for i, n in enumerate(amounts):
        with db.session(write=True) as s:
            qs.append(quotes.quote_add_licenses(s, ALEX if i % 2 else PRIYA, n, "enterprise"))

    def place(q, actor):
        with db.session(write=True) as s:
            return orders.place_order(s, actor, q.number, q.idempotency_key).order.resulting_quantity

    results = run_together(place, [(q, ALEX if i % 2 else PRIYA) for i, q in enumerate(qs)])
    assert quantity(db, "Acme Corp", "enterprise") == 40 + sum(amounts)
    assert sorted(results) == [40 + sum(amounts[: k + 1]) for k in range(len(amounts))] or len(set(results)) == WORKERS
    assert n_orders(db) == WORKERS


def test_the_same_quote_ordered_at_once_from_many_places_applies_once(db):
    with db.session(write=True) as s:
        q = quotes.quote_add_licenses(s, ALEX, 5, "enterprise")

    def place(_):
        with db.session(write=True) as s:
            return orders.place_order(s, ALEX, q.number, q.idempotency_key).order.number

    numbers = run_together(place, [(i,) for i in range(WORKERS)])
    assert len(set(numbers)) == 1
    assert n_orders(db) == 1
    assert quantity(db, "Acme Corp", "enterprise") == 45


def test_paying_one_invoice_at_once_from_many_places_charges_once(db):
    provider = SandboxProvider()

    def pay(i):
        with db.session(write=True) as s:
            try:
                return payments.pay_invoice(s, ALEX, "INV-1041", f"click-{i}", provider).payment.number
            except BillingError as exc:
                return exc.code

    numbers = run_together(pay, [(i,) for i in range(WORKERS)])
    assert len(set(numbers)) == 1 and numbers[0].startswith("PAY-")
    assert len(provider._charges) == 1
    assert count(db, Payment, Payment.idempotency_key.like("click-%")) == 1
