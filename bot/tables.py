"""Create a service's tables where missing, safely when its replicas start at once.

The gateway, the privacy API and the console create their tables at start (``create_all``: look,
then CREATE what is missing). Two replicas starting together on a fresh database both look, both
find a table missing and both CREATE it; one of them then dies at start ("duplicate key value
violates unique constraint pg_type_typname_nsp_index" on PostgreSQL, "table already exists" on
SQLite). On PostgreSQL they take turns under an advisory lock held for the transaction (DDL is
transactional there: the next one looks after the first committed). SQLite runs each CREATE on
its own, so another process can create a table between this one's look and its CREATE; then this
one looks again, until every table it found missing exists. Statements that belong with the tables
(an audit table's append-only triggers) run in the same transaction, under the same lock.
Test: tests/gateway/test_replicas_start.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

CREATE_LOCK = 7226150919  # pg_advisory_xact_lock's key: one creator at a time, whatever the tables
ATTEMPTS = 20  # SQLite: as many as there are tables and indexes, and more


def create_tables(engine: Engine, *metadatas: MetaData, then: Mapping[str, Sequence[str]] | None = None) -> None:
    """The tables of ``metadatas`` where missing, then ``then``'s statements for this database's
    dialect ("sqlite", "postgresql"), which must be safe to run again (IF NOT EXISTS, OR REPLACE)."""
    for attempt in range(ATTEMPTS):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CREATE_LOCK})
                for metadata in metadatas:
                    metadata.create_all(conn)
                for statement in (then or {}).get(conn.dialect.name, ()):
                    conn.execute(text(statement))
            return
        except OperationalError as error:
            if "already exists" not in str(error.orig) or attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
