"""Gap-free document numbers. The counter row is locked, so concurrent writers queue."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.orm import Counter

SERIES = {
    # series: (prefix, first number)
    "invoice": ("INV-", 1039),  # the demo's latest Acme invoice is INV-1042
    "order": ("ORD-", 10001),
    "quote": ("Q-", 5001),
    "payment": ("PAY-", 7001),
    "case": ("CS-", 2001),
    "handoff": ("HO-", 3001),
    "callback": ("CB-", 4001),
    "contract": ("C-", 101),
}


def ensure_counters(session: Session) -> None:
    """Create the counter rows that are missing (migrations and seeding call this)."""
    have = set(session.scalars(select(Counter.name)))
    session.add_all(Counter(name=name, value=first - 1) for name, (_, first) in SERIES.items() if name not in have)
    session.flush()


def next_number(session: Session, series: str) -> str:
    prefix, _ = SERIES[series]
    row = session.scalar(select(Counter).where(Counter.name == series).with_for_update())
    if row is None:
        raise LookupError(f"counter {series!r} missing: run the migrations")
    row.value += 1
    session.flush()
    return f"{prefix}{row.value}"
