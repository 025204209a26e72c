"""A found piece of text: where it is and what it means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Value = Union[int, str]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    value: Value
    entity: str = ""

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


def free(span: Span, taken: list[Span]) -> bool:
    """True if `span` overlaps none of `taken`."""
    return not any(span.overlaps(t) for t in taken)
