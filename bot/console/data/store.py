"""SQL the indexer's parts share, for SQLite and PostgreSQL alike: an upsert, and the watermarks in
``console_index_state`` read under a lock held to the end of the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from .tables import index_state

CHUNK = 500  # senders per IN (...) list


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    only: Iterable[str] | None = None,
) -> None:
    """Insert these rows (all with the same columns), or update the existing ones' columns (``only``
    those when given)."""
    if not rows:
        return
    stmt = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)
    columns = [c for c in (only if only is not None else rows[0]) if c not in keys]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, list(rows))


def insert_missing(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    if rows:
        stmt = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)
        conn.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)), list(rows))


def ensure_state(engine: Engine, names: Iterable[str]) -> None:
    with engine.begin() as conn:
        insert_missing(conn, index_state, [{"name": n, "value": 0} for n in names], ["name"])


def locked_state(conn: Connection, name: str) -> int:
    """The watermark ``name``, locked until this transaction ends: a second indexer (another console
    replica) waits here and then reads what the first one wrote. PostgreSQL: SELECT ... FOR UPDATE;
    SQLite: a no-op UPDATE first, which takes the database's write lock."""
    where = index_state.c.name == name
    if conn.dialect.name == "sqlite":
        conn.execute(update(index_state).where(where).values(value=index_state.c.value))
    return int(conn.execute(select(index_state.c.value).where(where).with_for_update()).scalar_one())


def set_state(conn: Connection, name: str, value: int) -> None:
    conn.execute(update(index_state).where(index_state.c.name == name).values(value=value))


def aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were written in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def bounds(period: Any) -> tuple[datetime, datetime]:
    """A Period's (api.py) first instant and the instant after its last day, in UTC."""
    start = datetime.combine(period.start, time.min, tzinfo=timezone.utc)
    return start, datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=timezone.utc)


def day_of(at: datetime) -> date:
    return aware(at).astimezone(timezone.utc).date()


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
