"""Throw-away bench databases: a fresh SQLite file or a fresh PostgreSQL database, migrated and
seeded with the demo data plus extra customers (clones of Acme), so each load worker acts for
its own organisation."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Contract, Order, Product, SubscriptionLine, User
from bot.billing.migrate import upgrade
from bot.billing.seed import load, seed, seed_org
from bot.billing.services.subscriptions import active_contract
from tests.throwaway_db import throwaway_postgres

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ACME_ADMIN = "alex@acme.example"


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'bench.sqlite3'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh aa_bench_<random> database on the server at TEST_POSTGRES_URL; dropped afterwards."""
    with throwaway_postgres(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL, "aa_bench") as url:
        yield url


def prepare(url: str, customers: int) -> list[str]:
    """Migrate, seed the demo data and `customers` clones of Acme; return their admins' emails."""
    upgrade(url)
    db = Database.connect(url)
    try:
        with db.session(write=True) as s:
            seed(s)
    finally:
        db.dispose()
    return add_customers(url, customers)


def add_customers(url: str, customers: int, first: int = 1) -> list[str]:
    """`customers` clones of Acme ("Bench Customer NN", alex@benchNN.example and colleagues) in a
    seeded database, numbered from ``first``; their admins' emails."""
    acme = next(org for org in load("demo.json")["orgs"] if ACME_ADMIN in json.dumps(org))
    admins = []
    db = Database.connect(url)
    try:
        with db.session(write=True) as s:
            products = {p.code: p for p in s.scalars(select(Product))}
            for i in range(first, first + customers):
                domain = f"bench{i:02d}.example"
                spec = json.loads(json.dumps(acme).replace("acme.example", domain))
                spec["name"] = f"Bench Customer {i:02d}"
                seed_org(s, spec, products, date.today())
                admins.append(ACME_ADMIN.replace("acme.example", domain))
    finally:
        db.dispose()
    return admins


@dataclass(frozen=True)
class ContractState:
    quantity: int  # the Enterprise line's quantity
    orders: int  # orders placed on the contract


def contract_states(url: str, emails: list[str]) -> dict[str, ContractState]:
    """Per acting user: their organisation's active contract, read straight from the database."""
    db = Database.connect(url)
    try:
        with db.session() as s:
            states = {}
            for email in set(emails):
                user = s.scalar(select(User).where(User.email == email))
                contract: Contract = active_contract(s, user.org_id)
                quantity = s.scalar(
                    select(SubscriptionLine.quantity)
                    .join(Product, SubscriptionLine.product_id == Product.id)
                    .where(SubscriptionLine.contract_id == contract.id, Product.code == "enterprise")
                )
                orders = s.scalar(select(func.count(Order.id)).where(Order.contract_id == contract.id))
                states[email] = ContractState(quantity, orders)
            return states
    finally:
        db.dispose()
