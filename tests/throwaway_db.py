"""Throw-away PostgreSQL databases for tests and benchmarks: created on the server, dropped after."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.billing.adapters.db import normalise_url


class PostgresUnavailable(Exception):
    """The server is not reachable: the caller skips (or fails under CI=true)."""


@contextmanager
def throwaway_postgres(base_url: str, prefix: str) -> Iterator[str]:
    """CREATE DATABASE <prefix>_<random> next to ``base_url``'s database; DROP ... WITH (FORCE) after."""
    url = make_url(normalise_url(base_url))
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise PostgresUnavailable(
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is not reachable ({reason})"
        ) from exc
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
