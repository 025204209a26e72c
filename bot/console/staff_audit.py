"""The staff audit: one row per thing a staff member did in the console: signed in (or was refused),
labelled review lines, saved a conversation test, downloaded a CSV, exported or erased a customer's
data, changed someone's role, signed out.

Who (the staff member's Slack user id and email), when, what (the action and its object: a table's
name, an intent, a role), and how many rows; never conversation content, a customer's address or a
message's text. The customer of a privacy export or erasure is in the privacy audit instead, as a
keyed hash (bot/privacy/audit.py). Append-only like that one: the database refuses UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, insert, select
from sqlalchemy.engine import Engine

from bot.tables import create_tables

metadata = MetaData()

ACTIONS = frozenset(
    {
        "sign_in",
        "sign_in_refused",
        "sign_out",
        "label",
        "save_test",
        "export_csv",
        "privacy_export",
        "privacy_erase",
        "role_change",
    }
)

staff_audit = Table(
    "console_staff_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(64), nullable=False),  # Slack user id ("dev" for make run's link)
    Column("actor_email", String(254)),
    Column("action", String(24), nullable=False),
    Column("object", String(200)),  # table, intent, role, test file name; never content
    Column("count", Integer, nullable=False, default=0),  # rows labelled, exported, erased...
)

_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS console_staff_audit_no_update BEFORE UPDATE ON console_staff_audit "
    "BEGIN SELECT RAISE(ABORT, 'console_staff_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS console_staff_audit_no_delete BEFORE DELETE ON console_staff_audit "
    "BEGIN SELECT RAISE(ABORT, 'console_staff_audit is append-only'); END",
]
_PG_GUARDS = [
    "CREATE OR REPLACE FUNCTION console_staff_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'console_staff_audit is append-only'; END $$",
    "DROP TRIGGER IF EXISTS console_staff_audit_append_only ON console_staff_audit",
    "CREATE TRIGGER console_staff_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON console_staff_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION console_staff_audit_append_only()",
]


class StaffAudit:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, metadata, then={"sqlite": _SQLITE_GUARDS, "postgresql": _PG_GUARDS})

    def record(
        self, actor: str, action: str, *, email: str | None = None, object: str | None = None, count: int = 0
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown staff action {action!r}")
        with self.engine.begin() as conn:
            conn.execute(
                insert(staff_audit).values(
                    at=datetime.now(timezone.utc),
                    actor=actor[:64],
                    actor_email=(email or None) and email[:254],
                    action=action,
                    object=(object or None) and object[:200],
                    count=count,
                )
            )

    def latest(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(staff_audit).order_by(staff_audit.c.id.desc()).limit(limit)).all()
        out = []
        for row in rows:
            item = dict(row._mapping)
            at = item["at"]
            item["at"] = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
            out.append(item)
        return out
