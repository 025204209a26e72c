"""Posting to Slack: one queue per channel, so a channel's messages arrive in order and a rate
limit (429 + Retry-After, honoured by the client's retry handler) holds back only that channel."""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self) -> None:
        self._queues: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _queue(self, channel: str) -> asyncio.Lock:
        lock = self._queues.get(channel)
        if lock is None:
            lock = self._queues[channel] = asyncio.Lock()  # FIFO: waiters are served in order
        return lock

    async def post(self, client: AsyncWebClient, channel: str, *, text: str, blocks: list[dict[str, Any]] | None = None,
                   thread_ts: str | None = None) -> str | None:
        """Post one message after the channel's earlier ones; its ``ts``, or None if Slack refused."""
        async with self._queue(channel):
            try:
                answer = await client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                                                       unfurl_links=False, unfurl_media=False)
            except SlackApiError as error:
                log.warning("slack: chat.postMessage to %s refused: %s", channel, error.response.get("error"))
                return None
            except Exception as error:  # noqa: BLE001 - timeouts, connection errors: the turn goes on
                log.warning("slack: chat.postMessage to %s failed: %s", channel, type(error).__name__)
                return None
            return answer.get("ts")

    async def update(self, client: AsyncWebClient, channel: str, ts: str, *, text: str,
                     blocks: list[dict[str, Any]]) -> bool:
        async with self._queue(channel):
            try:
                await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            except Exception as error:  # noqa: BLE001
                log.warning("slack: chat.update in %s failed: %s", channel, getattr(error, "response", error))
                return False
            return True

    async def ephemeral(self, client: AsyncWebClient, channel: str, user: str, text: str,
                        thread_ts: str | None = None) -> None:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except Exception as error:  # noqa: BLE001
            log.warning("slack: chat.postEphemeral in %s failed: %s", channel, type(error).__name__)
