"""The privacy audit: one row per export, erasure and retention run: who (the staff member the
console names, or ``retention-job``), when, what (the action and the kind of subject), how many rows
per store, how long it took. Append-only: the database itself refuses UPDATE and DELETE on the table
(a trigger on SQLite and on PostgreSQL), so neither a bug nor the API can rewrite history.

It keeps no customer content: the subject is a keyed hash (``subject_ref``: HMAC-SHA256 under the
gateway's WIDGET_SIGNING_KEY, truncated), enough to answer "was this customer erased, and when?" by hashing the
address again, not to recover it; no message text, no email, no sender id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

from bot.tables import create_tables

metadata = MetaData()

audit = Table(
    "privacy_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),  # export, erase, retention
    Column("subject_kind", String(16)),  # email, slack_user, conversation; None for retention
    Column("subject_ref", String(64)),
    Column("conversations", Integer, nullable=False),
    Column("counts", Text, nullable=False),  # JSON: store -> rows
    Column("duration_ms", Integer, nullable=False),
)

_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS privacy_audit_no_update BEFORE UPDATE ON privacy_audit "
    "BEGIN SELECT RAISE(ABORT, 'privacy_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS privacy_audit_no_delete BEFORE DELETE ON privacy_audit "
    "BEGIN SELECT RAISE(ABORT, 'privacy_audit is append-only'); END",
]
_PG_GUARDS = [
    "CREATE OR REPLACE FUNCTION privacy_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'privacy_audit is append-only'; END $$",
    "DROP TRIGGER IF EXISTS privacy_audit_append_only ON privacy_audit",
    "CREATE TRIGGER privacy_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON privacy_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION privacy_audit_append_only()",
]


def subject_ref(key: str, kind: str, value: str) -> str:
    return hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


class Audit:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, metadata, then={"sqlite": _SQLITE_GUARDS, "postgresql": _PG_GUARDS})

    def record(
        self,
        actor: str,
        action: str,
        counts: dict[str, int],
        *,
        conversations: int,
        seconds: float,
        subject: tuple[str, str] | None = None,
    ) -> int:
        with self.engine.begin() as conn:
            key = conn.execute(
                insert(audit).values(
                    at=datetime.now(timezone.utc),
                    actor=actor[:200],
                    action=action,
                    subject_kind=subject[0] if subject else None,
                    subject_ref=subject[1] if subject else None,
                    conversations=conversations,
                    counts=json.dumps(counts, sort_keys=True),
                    duration_ms=round(seconds * 1000),
                )
            ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def latest(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(limit)).all()
        out = []
        for row in rows:
            item = dict(row._mapping)
            at = item["at"]
            item["at"] = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()
            item["counts"] = json.loads(item["counts"])
            out.append(item)
        return out
