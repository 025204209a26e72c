"""Posting to Slack: one queue per channel, so a channel's messages arrive in order and a rate
limit holds back only that channel.

A 429 is retried after its Retry-After: first by the client's retry handler
(``SLACK_RATE_LIMIT_RETRIES`` times), then here, for as long as Slack keeps limiting the channel,
up to ``max_wait_s`` (5 minutes) per message. A message is dropped only after that, or when Slack
refuses it for another reason; while one waits, the channel's later messages wait behind it, so
nothing overtakes it (tests/e2e/test_faults_slack.py: a channel limited for a while gets every
reply, in order, once the limit lifts)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_WAIT_S = 300.0  # how long one message may wait for a rate limit to lift
DEFAULT_RETRY_AFTER_S = 1.0


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, or None when the error is no rate limit."""
    response = error.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers = getattr(response, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):  # slack_sdk keeps each header's values in a list
        value = value[0] if value else None
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_S
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER_S
    return min(max(seconds, 0.1), MAX_WAIT_S)


class Outbox:
    def __init__(self, max_wait_s: float = MAX_WAIT_S) -> None:
        self.max_wait_s = max_wait_s
        self._queues: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _queue(self, channel: str) -> asyncio.Lock:
        lock = self._queues.get(channel)
        if lock is None:
            lock = self._queues[channel] = asyncio.Lock()  # FIFO: waiters are served in order
        return lock

    async def _patiently(self, what: str, channel: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again after each rate limit's Retry-After, for at most ``max_wait_s`` in all."""
        waited = 0.0
        while True:
            try:
                return await call()
            except SlackApiError as error:
                wait = retry_after(error)
                if wait is None or waited + wait > self.max_wait_s:
                    raise
                log.info("slack: %s to %s rate limited; again in %.0f s", what, channel, wait)
                await asyncio.sleep(wait)
                waited += wait

    async def post(
        self,
        client: AsyncWebClient,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> str | None:
        """Post one message after the channel's earlier ones; its ``ts``, or None if Slack refused."""
        async with self._queue(channel):
            try:
                answer = await self._patiently(
                    "chat.postMessage",
                    channel,
                    lambda: client.chat_postMessage(
                        channel=channel,
                        text=text,
                        blocks=blocks,
                        thread_ts=thread_ts,
                        unfurl_links=False,
                        unfurl_media=False,
                    ),
                )
            except SlackApiError as error:
                log.warning("slack: chat.postMessage to %s refused: %s", channel, error.response.get("error"))
                return None
            except Exception as error:
                log.warning("slack: chat.postMessage to %s failed: %s", channel, type(error).__name__)
                return None
            return answer.get("ts")

    async def update(
        self, client: AsyncWebClient, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]]
    ) -> bool:
        async with self._queue(channel):
            try:
                await self._patiently(
                    "chat.update", channel, lambda: client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                )
            except Exception as error:
                log.warning("slack: chat.update in %s failed: %s", channel, getattr(error, "response", error))
                return False
            return True

    async def ephemeral(
        self, client: AsyncWebClient, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> None:
        try:
            await self._patiently(
                "chat.postEphemeral",
                channel,
                lambda: client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts),
            )
        except Exception as error:
            log.warning("slack: chat.postEphemeral in %s failed: %s", channel, type(error).__name__)
