"""The widget's rate limits, through the `limits` package: a moving window of ``per_minute`` hits
per key (visitor, client address), so a person can send a short burst and then keeps a steady pace.

With Redis (``GATEWAY_REDIS_URL``, production) the windows live there and every gateway replica
counts the same hits: a visitor with tabs on two replicas, or an address whose connections the
balancer spread, gets the limit once, not once per replica. Without it (``make run``) they live in
this process. These are abuse guards, not quotas: when Redis does not answer in time a hit is
allowed (and logged), rather than a chat refused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from urllib.parse import quote, urlsplit, urlunsplit

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


def storage_for(
    redis_url: str, *, prefix: str, username: str = "", password: str = "", timeout_s: float = 2.0
) -> Storage:
    """Redis when the gateway has one (its keys under ``<prefix>:limits``), else this process's memory."""
    if not redis_url:
        return MemoryStorage()
    parts = urlsplit(redis_url)
    user = username or parts.username or ""
    secret = password or parts.password or ""
    auth = f"{quote(user, safe='')}:{quote(secret, safe='')}@" if secret else ""
    netloc = auth + (parts.hostname or "127.0.0.1") + (f":{parts.port}" if parts.port else "")
    uri = urlunsplit((f"async+{parts.scheme}", netloc, parts.path, parts.query, ""))
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix=f"{prefix}:limits",
        wrap_exceptions=True,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )


class RateLimiter:
    """``per_minute`` hits a minute per key, for one kind of thing (``kind`` keeps kinds apart)."""

    def __init__(self, storage: Storage, kind: str, per_minute: int, *, timeout_s: float = 2.0) -> None:
        self.item = RateLimitItemPerMinute(max(1, per_minute))
        self.kind = kind
        self.limiter = MovingWindowRateLimiter(storage)
        self.timeout_s = timeout_s

    async def hit(self, key: str) -> float:
        """Take one: 0.0 if allowed, else the seconds to wait until one is."""
        try:
            async with asyncio.timeout(self.timeout_s):
                if await self.limiter.hit(self.item, self.kind, key):
                    return 0.0
                stats = await self.limiter.get_window_stats(self.item, self.kind, key)
        except Exception as error:
            log.warning("widget: rate limit %s unavailable (%s); allowed", self.kind, type(error).__name__)
            return 0.0
        return max(0.1, stats.reset_time - time.time())


def wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"
