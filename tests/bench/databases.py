"""Throw-away bench databases: a fresh SQLite file or a fresh PostgreSQL database, migrated and
seeded with the demo data plus extra customers (clones of Acme), so each load worker acts for
its own organisation."""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.billing.adapters.db import Database, normalise_url
from bot.billing.adapters.orm import Contract, Order, Product, SubscriptionLine, User
from bot.billing.migrate import upgrade
from bot.billing.seed import load, seed, seed_org
from bot.billing.services.subscriptions import active_contract

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ACME_ADMIN = "alex@acme.example"


class Unavailable(Exception):
    """The database server is not reachable: the caller skips (or fails under CI=true)."""


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'bench.sqlite3'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """CREATE DATABASE aa_bench_<random> on the server at TEST_POSTGRES_URL; dropped afterwards."""
    url = make_url(normalise_url(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL))
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"aa_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        where = url.render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise Unavailable(f"PostgreSQL at {where} is not reachable ({reason})") from exc
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, customers: int) -> list[str]:
    """Migrate, seed the demo data and `customers` clones of Acme; return their admins' emails."""
    upgrade(url)
    acme = next(org for org in load("demo.json")["orgs"] if ACME_ADMIN in json.dumps(org))
    admins = []
    db = Database.connect(url)
    try:
        with db.session(write=True) as s:
            seed(s)
            products = {p.code: p for p in s.scalars(select(Product))}
            for i in range(1, customers + 1):
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
                    select(SubscriptionLine.quantity).join(Product, SubscriptionLine.product_id == Product.id)
                    .where(SubscriptionLine.contract_id == contract.id, Product.code == "enterprise"))
                orders = s.scalar(select(func.count(Order.id)).where(Order.contract_id == contract.id))
                states[email] = ContractState(quantity, orders)
            return states
    finally:
        db.dispose()
