"""Document numbers.

Invoices get gap-free numbers from a locked counter row (take one as late as possible in a
transaction: writers queue on it until commit). Everything else is numbered from its primary key
(NumberedById), and found again with ``by_number``.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ExecutableOption

from ..adapters.orm import Counter, NumberedById

T = TypeVar("T", bound=NumberedById)

SERIES = {
    # series: (prefix, first number)
    "invoice": ("INV-", 1039),  # the demo's latest Acme invoice is INV-1042
}


def ensure_counters(session: Session) -> None:
    """Create the counter rows that are missing (migrations and seeding call this)."""
    have = set(session.scalars(select(Counter.name)))
    session.add_all(Counter(name=name, value=first - 1) for name, (_, first) in SERIES.items() if name not in have)
    session.flush()


def next_number(session: Session, series: str) -> str:
    """Increment and read the counter in one statement (it locks the row until commit)."""
    prefix, _ = SERIES[series]
    value = session.scalar(
        update(Counter).where(Counter.name == series).values(value=Counter.value + 1).returning(Counter.value)
    )
    if value is None:
        raise LookupError(f"counter {series!r} missing: run the migrations")
    return f"{prefix}{value}"


def by_number(
    session: Session, model: type[T], number: str, *, lock: bool = False, options: tuple[ExecutableOption, ...] = ()
) -> T | None:
    """``options``: loader options (relationships the caller reads, in the same query)."""
    ident = model.id_for(number)
    if ident is None:
        return None
    query = select(model).where(model.id == ident).options(*options)
    return session.scalar(query.with_for_update() if lock else query)
