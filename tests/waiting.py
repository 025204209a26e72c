"""Waiting in tests without fixed sleeps: for something to happen (``eventually``), or for a
count that must not grow to stay put while anything in flight lands (``steady``). Both poll, so a
fast machine passes fast and a loaded one gets the whole timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], *, timeout: float = 10.0, every: float = 0.05, what: str = "") -> T:
    """``probe()``'s first truthy answer; AssertionError (with the last answer) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or probe} (last: {answer!r})")
        time.sleep(every)


def steady(probe: Callable[[], T], *, quiet: float = 0.5, timeout: float = 10.0, every: float = 0.05) -> T:
    """``probe()``'s answer once it has not changed for ``quiet`` seconds (for "nothing more
    arrives": a second alert, a second post); AssertionError if it keeps changing past ``timeout``."""
    deadline = time.monotonic() + timeout
    last, since = probe(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"still changing after {timeout} s: {probe} (last: {last!r})")
        time.sleep(every)
        now = probe()
        if now != last:
            last, since = now, time.monotonic()
    return last
