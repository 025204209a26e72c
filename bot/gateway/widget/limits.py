"""Rate limits: a token bucket per key (visitor, client IP), held in this gateway process.

A bucket holds ``per_minute`` tokens and refills at ``per_minute / 60`` a second, so a person can
send a short burst and then keeps a steady pace. With several gateway replicas each one limits
on its own: a WebSocket stays on the replica it connected to, so one tab is held to its limit,
while a visitor with tabs on two replicas, or an address whose connections the balancer spread,
gets up to that many times the limit. These are abuse guards, not quotas.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: int, *, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def hit(self, key: str) -> float:
        """Take one token: 0.0 if allowed, else the seconds to wait before the next is."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self.max_keys:  # forget the least recently seen
            self._buckets.popitem(last=False)
        return wait


def wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"
