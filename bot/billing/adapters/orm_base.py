"""What every table is built on: the declarative ``Base`` (aware UTC datetimes on every engine),
columns stamped from the session's clock when a row is first saved, and document numbers derived
from primary keys. The tables themselves are in orm.py."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import DateTime, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, Mapper, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from ..clock import clock_of

STAMP = "stamped_on_insert"


def stamped(**kw: Any) -> MappedColumn[Any]:
    """A column set to the unit of work's "now" when its row is first flushed, unless the code
    already set it (the seed's back-dated payments, a quote's own ``now``). The time comes from
    the session's clock (bot/billing/clock.py), not a column default: a default cannot see the
    session, and would read the system time behind a pinned clock's back."""
    return mapped_column(info={STAMP: True}, **kw)


_stamped_columns: dict[type, tuple[str, ...]] = {}


def _stamped(cls: type) -> tuple[str, ...]:
    if cls not in _stamped_columns:
        mapper: Mapper[Any] = sa_inspect(cls)
        _stamped_columns[cls] = tuple(p.key for p in mapper.column_attrs if p.columns[0].info.get(STAMP))
    return _stamped_columns[cls]


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _context: object, _instances: object) -> None:
    now: datetime | None = None
    for obj in session.new:
        for key in _stamped(type(obj)):
            if getattr(obj, key) is None:
                now = now or clock_of(session).now()  # one instant for everything this flush inserts
                setattr(obj, key, now)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite has no time zones: store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class NumberedById:
    """A document number derived from the primary key (ORD-10001 is order 1): nothing to lock,
    so concurrent writers don't queue for it. Only invoices need gap-free numbers (Counter)."""

    PREFIX: ClassVar[str]
    OFFSET: ClassVar[int]
    if TYPE_CHECKING:  # each numbered table maps its own primary key; declared here for the checker only
        id: Mapped[int]

    @property
    def number(self) -> str:
        return f"{self.PREFIX}{self.OFFSET + self.id}"

    @classmethod
    def id_for(cls, number: str) -> int | None:
        text = (number or "").strip().upper()
        digits = text[len(cls.PREFIX) :] if text.startswith(cls.PREFIX) else ""
        return int(digits) - cls.OFFSET if digits.isdigit() and cls.OFFSET < int(digits) < 2**31 else None
