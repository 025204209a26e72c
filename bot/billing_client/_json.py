"""Explicit readers for the billing API's JSON: each checks the type it expects, so a float
where an int belongs, or a missing field, fails loudly instead of spreading."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any, TypeVar

T = TypeVar("T")
Json = dict[str, Any]


def _str(d: Json, key: str) -> str:
    value = d[key]
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _ostr(d: Json, key: str) -> str | None:
    return None if d.get(key) is None else _str(d, key)


def _int(d: Json, key: str) -> int:
    value: object = d[key]
    if isinstance(value, bool) or not isinstance(value, int):  # a float here is a contract break
        raise TypeError(f"{key}: expected an integer, got {type(value).__name__}")
    return value


def _oint(d: Json, key: str) -> int | None:
    return None if d.get(key) is None else _int(d, key)


def _bool(d: Json, key: str) -> bool:
    value = d[key]
    if not isinstance(value, bool):
        raise TypeError(f"{key}: expected a boolean, got {type(value).__name__}")
    return value


def _date(d: Json, key: str) -> date:
    return date.fromisoformat(_str(d, key))


def _odate(d: Json, key: str) -> date | None:
    return None if d.get(key) is None else _date(d, key)


_FRACTION = re.compile(r"\.(\d+)")


def parse_datetime(text: str) -> datetime:
    """ISO 8601 to an aware datetime. Python 3.10's fromisoformat knows neither 'Z' nor fractions
    other than 3 or 6 digits; a timestamp without offset is UTC (the backend stores UTC)."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _datetime(d: Json, key: str) -> datetime:
    return parse_datetime(_str(d, key))


def _odatetime(d: Json, key: str) -> datetime | None:
    return None if d.get(key) is None else _datetime(d, key)


def _obj(d: Json, key: str, parse: Callable[[Json], T]) -> T:
    value = d[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key}: expected an object")
    return parse(value)


def _oobj(d: Json, key: str, parse: Callable[[Json], T]) -> T | None:
    return None if d.get(key) is None else _obj(d, key, parse)


def _list(d: Json, key: str, parse: Callable[[Json], T]) -> tuple[T, ...]:
    value = d[key]
    if not isinstance(value, list):
        raise TypeError(f"{key}: expected a list")
    return tuple(parse(x) for x in value)
