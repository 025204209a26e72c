"""Many customers fast, for the `scale` benchmark: copies of the seeded demo organisations written
straight into PostgreSQL with COPY.

The demo seed (bot/billing/seed/) builds Acme (Enterprise, annual, four invoices with a payment
each for the paid ones) and Bluebird (Essentials, monthly, four invoices); one quote -> order is
placed for Acme through the services first, so Acme's copies also carry a quote, an order, the
invoice it issued and the audit entries. Every other organisation is a copy of one of the two,
row for row (users, billing profile, card, Slack workspace, contract and its lines, invoices and
their lines, payments, quotes, orders, audit), with new ids, its own domain
(``scaleNNNNNN.example``) and its own unique values (invoice numbers from the invoice counter,
card tokens, idempotency keys). Building 100,000 organisations through the ORM would take most of
an hour; COPY takes about a minute.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Base, Counter, Org
from bot.billing.services import orders, quotes
from bot.billing.services.access import Actor

ACME_ADMIN = "alex@acme.example"
TEMPLATES = ("Acme Corp", "Bluebird Bakery")
DOMAINS = {"Acme Corp": "acme.example", "Bluebird Bakery": "bluebird.example"}
CHUNK = 5000  # organisations per COPY round

# Parents before children; each table's foreign keys and which table's new ids they take.
TABLES: dict[str, dict[str, str]] = {
    "orgs": {},
    "users": {"org_id": "orgs"},
    "billing_profiles": {"org_id": "orgs"},
    "slack_workspaces": {"org_id": "orgs"},
    "payment_methods": {"org_id": "orgs"},
    "contracts": {"org_id": "orgs"},
    "subscription_lines": {"contract_id": "contracts"},
    "quotes": {"org_id": "orgs", "contract_id": "contracts", "created_by_id": "users"},
    "invoices": {"org_id": "orgs", "contract_id": "contracts"},
    "invoice_lines": {"invoice_id": "invoices"},
    "orders": {
        "org_id": "orgs",
        "contract_id": "contracts",
        "quote_id": "quotes",
        "placed_by_id": "users",
        "invoice_id": "invoices",
    },
    "payments": {
        "org_id": "orgs",
        "invoice_id": "invoices",
        "payment_method_id": "payment_methods",
        "created_by_id": "users",
    },
    "audit_log": {"org_id": "orgs"},
}
# How a template row's parent is found when the table has no org_id.
PARENT = {"subscription_lines": ("contract_id", "contracts"), "invoice_lines": ("invoice_id", "invoices")}


def acting_email(index: int) -> str:
    """The admin of the ``index``th copy of Acme (copies alternate Acme, Bluebird, Acme...)."""
    return ACME_ADMIN.replace("acme.example", domain(index))


def domain(index: int) -> str:
    return f"scale{index:06d}.example"


def place_template_order(db: Database) -> None:
    """One quote -> order for Acme through the services: its copies carry a quote, an order and
    what they wrote."""
    actor = Actor(email=ACME_ADMIN, channel="api", caller="bench")
    with db.session(write=True) as s:
        quote = quotes.quote_add_licenses(s, actor, 2, "enterprise")
        orders.place_order(s, actor, quote.number, "scale-template-order")


@dataclass
class Template:
    """One seeded organisation's rows, table by table, as tuples in the table's column order."""

    name: str
    rows: dict[str, list[tuple[Any, ...]]]


def read_templates(db: Database) -> list[Template]:
    templates = []
    with db.writer.connect() as conn:
        for name in TEMPLATES:
            org_id = conn.scalar(select(Org.id).where(Org.name == name))
            ids: dict[str, set[int]] = {"orgs": {org_id}}
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for table_name in TABLES:
                table = Base.metadata.tables[table_name]
                if table_name == "orgs":
                    where = table.c.id == org_id
                elif table_name in PARENT:
                    column, parent = PARENT[table_name]
                    where = table.c[column].in_(ids[parent])
                else:
                    where = table.c.org_id == org_id
                rows[table_name] = [tuple(r) for r in conn.execute(select(table).where(where).order_by(table.c.id))]
                ids[table_name] = {r[0] for r in rows[table_name]}
            templates.append(Template(name, rows))
    return templates


class Copier:
    """Writes copies of the templates, numbering rows on from what the database holds."""

    def __init__(self, db: Database, templates: list[Template]) -> None:
        self.templates = templates
        with db.writer.connect() as conn:
            self.next_id = {t: (conn.scalar(select(func.max(Base.metadata.tables[t].c.id))) or 0) + 1 for t in TABLES}
            self.invoice_no = conn.scalar(select(Counter.value).where(Counter.name == "invoice")) or 0
        self.columns = {t: list(Base.metadata.tables[t].columns.keys()) for t in TABLES}

    def rows(self, first: int, count: int) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        for index in range(first, first + count):
            template = self.templates[index % len(self.templates)]
            new_ids: dict[str, dict[int, int]] = {t: {} for t in TABLES}
            fix = self._fixer(template.name, index)
            for table, fks in TABLES.items():
                cols = self.columns[table]
                fk_at = [(cols.index(c), parent) for c, parent in fks.items()]
                for row in template.rows[table]:
                    values = list(row)
                    new_ids[table][row[0]] = values[0] = self.next_id[table]
                    self.next_id[table] += 1
                    for at, parent in fk_at:
                        if values[at] is not None:
                            values[at] = new_ids[parent][values[at]]
                    out[table].append(tuple(fix(table, cols, values)))
        return out

    def _fixer(self, template: str, index: int) -> Callable[[str, list[str], list[Any]], list[Any]]:
        old, new = DOMAINS[template], domain(index)

        def fix(table: str, cols: list[str], values: list[Any]) -> list[Any]:
            row = dict(zip(cols, values))
            if table == "orgs":
                row["name"] = f"Scale Customer {index:06d}"
            elif table in ("users", "billing_profiles"):
                key = "email" if table == "users" else "contact_email"
                row[key] = row[key].replace(old, new)
            elif table == "slack_workspaces":
                row["team_id"] = f"TS{row['id']:09d}"
            elif table == "payment_methods":
                row["token"] = f"tok_scale_{index}_{row['id']}"
            elif table == "invoices":
                self.invoice_no += 1
                row["number"] = f"INV-{self.invoice_no}"
            elif table in ("payments", "quotes", "orders"):
                row["idempotency_key"] = f"scale-{table}-{row['id']}"
                if table == "payments":
                    row["provider_ref"] = row["idempotency_key"]
            for key, value in row.items():
                if isinstance(value, (dict, list)):
                    row[key] = json.dumps(value)
            return [row[c] for c in cols]

        return fix


def _chunks(first: int, count: int) -> Iterator[tuple[int, int]]:
    for start in range(first, first + count, CHUNK):
        yield start, min(CHUNK, first + count - start)


def add_copies(db: Database, url: str, first: int, count: int) -> None:
    """Copies ``first`` .. ``first + count - 1`` of the templates, then the counters, sequences and
    planner statistics as a real database would have them."""
    copier = Copier(db, read_templates(db))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        for start, n in _chunks(first, count):
            batch = copier.rows(start, n)
            with conn.cursor() as cur:
                for table, rows in batch.items():
                    cols = ", ".join(f'"{c}"' for c in copier.columns[table])
                    with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
        with conn.cursor() as cur:
            for table in TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"
                )
            cur.execute("UPDATE counters SET value = %s WHERE name = 'invoice'", (copier.invoice_no,))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
