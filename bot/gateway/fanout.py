"""Fan-out of widget events across gateway replicas, through Redis pub/sub.

A visitor's WebSocket lives on one gateway replica; the message for it may be produced on another
(the bot's reply to a turn taken there, a rep's reply arriving from Slack, a handoff notice). Every
replica publishes what it stored for a conversation on one Redis channel and hears everyone else's,
and hands each event to its own sockets of that conversation (``Hub.remote``).

Without ``GATEWAY_REDIS_URL`` there is nothing to fan out to: ``Fanout`` is the single-process one
(``make run``), and the history poller still picks up rows another process wrote.

Redis is a fast path, not the record: the rows are in the gateway database first. Every Redis call
has a timeout; a failed publish is logged and left to the poller; when the connection drops the
listener reconnects by itself (backing off up to ``RECONNECT_MAX_S``) and then asks the hub to
catch every socket up from the database, so nothing published during the gap is missed.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
RECONNECT_MAX_S = 5.0


class Fanout:
    """One process: nobody else to tell. ``RedisFanout`` has the same surface."""

    shared = False  # whether other replicas hear what this one publishes

    async def publish(self, event: dict[str, Any]) -> bool:  # noqa: ARG002
        return False

    async def start(self, handler: Handler, on_reconnect: Callable[[], Awaitable[None]] | None = None) -> None:
        return None

    async def stop(self) -> None:
        return None

    @property
    def connected(self) -> bool:
        return False


class RedisFanout(Fanout):
    shared = True

    def __init__(self, url: str, *, channel: str = "aa:widget", timeout_s: float = 2.0) -> None:
        self.url = url
        self.channel = channel
        self.timeout_s = timeout_s
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # this replica: its own events are skipped
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False

    def _client(self) -> Any:
        import redis.asyncio as aioredis

        return aioredis.Redis.from_url(
            self.url, socket_timeout=self.timeout_s, socket_connect_timeout=self.timeout_s,
            health_check_interval=10, retry_on_timeout=False, decode_responses=True,
            client_name=f"{self.channel}:{self.origin}")  # CLIENT LIST shows whose connection it is

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def publish(self, event: dict[str, Any]) -> bool:
        """Tell the other replicas; False (logged) when Redis can't be reached in time: the
        other replicas' history pollers deliver it a little later instead."""
        if self._redis is None:
            self._redis = self._client()
        data = json.dumps({**event, "origin": self.origin}, ensure_ascii=False, default=str)
        try:
            await asyncio.wait_for(self._redis.publish(self.channel, data), self.timeout_s)
            return True
        except Exception as error:  # noqa: BLE001 - redis errors, timeouts
            log.warning("fanout: publish failed (%s); other replicas poll the database instead", error)
            return False

    async def start(self, handler: Handler, on_reconnect: Callable[[], Awaitable[None]] | None = None) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._listen(handler, on_reconnect),
                                                            name="fanout-listener")

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _listen(self, handler: Handler, on_reconnect: Callable[[], Awaitable[None]] | None) -> None:
        backoff = 0.2
        while not self._stopping:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await asyncio.wait_for(pubsub.subscribe(self.channel), self.timeout_s)
                self._connected.set()
                log.info("fanout: listening on redis channel %s", self.channel)
                backoff = 0.2
                if on_reconnect is not None:
                    await on_reconnect()  # what was published while this replica wasn't listening
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    await self._dispatch(handler, message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - connection lost, timeouts: reconnect
                if self._connected.is_set():
                    log.warning("fanout: redis connection lost (%s); reconnecting", error)
                self._connected.clear()
                await asyncio.sleep(backoff)
                backoff = min(RECONNECT_MAX_S, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), self.timeout_s)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), self.timeout_s)
        self._connected.clear()

    async def _dispatch(self, handler: Handler, data: Any) -> None:
        try:
            event = json.loads(data)
        except (TypeError, ValueError):
            log.warning("fanout: unreadable event ignored")
            return
        if not isinstance(event, dict) or event.get("origin") == self.origin:
            return
        try:
            await handler(event)
        except Exception:  # noqa: BLE001 - one bad event must not stop the listener
            log.exception("fanout: handling an event failed")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), self.timeout_s)
            self._redis = None


def fanout_from(url: str, prefix: str, timeout_s: float) -> Fanout:
    """``RedisFanout`` when a Redis URL is set, else the single-process ``Fanout``."""
    if not url:
        return Fanout()
    return RedisFanout(url, channel=f"{prefix}:widget", timeout_s=timeout_s)
