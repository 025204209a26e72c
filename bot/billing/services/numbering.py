"""Gap-free document numbers. The counter row is locked, so concurrent writers queue."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.orm import Counter

SERIES = {
    # series: (prefix, first number)
    "invoice": ("INV-", 1001),
    "order": ("ORD-", 10001),
    "quote": ("Q-", 5001),
    "payment": ("PAY-", 7001),
    "case": ("CS-", 2001),
    "handoff": ("HO-", 3001),
    "callback": ("CB-", 4001),
    "contract": ("C-", 101),
}


def next_number(session: Session, series: str) -> str:
    prefix, first = SERIES[series]
    row = session.scalar(select(Counter).where(Counter.name == series).with_for_update())
    if row is None:
        row = Counter(name=series, value=first)
        session.add(row)
    else:
        row.value += 1
    session.flush()
    return f"{prefix}{row.value}"
