"""The bridge to Rasa: one user message in, the bot's messages out.

Rasa is reached only here, on its gateway channel (bot/rasa_server/channel.py), with the sender id
and the identity the gateway verified in the metadata. Turns of one sender are sent one at a time
in arrival order (within this process; across gateway replicas Rasa's lock store orders them).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import weakref
from collections.abc import Mapping
from typing import Any, TypedDict, cast

import aiohttp
import httpx

from bot.nlu.text_hygiene import clean, without_surrogates
from bot.telemetry import request_ids
from bot.telemetry.tasks import TASK_DONE  # a marker message {"custom": {"task_done": <task>}}

from . import metrics

log = logging.getLogger(__name__)

CANT_REACH = (
    "I can't reach the assistant right now, so nothing was changed. Please try again in a "
    "minute, or call us on 1-800-667-6389."
)
# A message with nothing left once cleaned (bot.nlu.text_hygiene.clean: only spaces, or invisible
# and control characters) is not sent to Rasa; every channel answers it with this.
NO_TEXT = (
    "That message had no text I could read (only spaces or invisible characters), so I didn't act "
    "on it. Please type what you need."
)


class Identity(TypedDict, total=False):
    """Who the channel verified is writing: the action server acts for them with billing."""

    email: str
    name: str
    slack_team: str  # Slack: the user's own workspace, where the email was verified


class TurnMetadata(TypedDict, total=False):
    """What a channel tells Rasa with a message (bot/rasa_server/channel.py passes it to the actions)."""

    channel: str  # "slack" or "widget"
    identity: Identity  # absent: an anonymous visitor
    card_number_redacted: bool  # the text had a card number, now a token
    request_id: str  # the turn's id in every service's logs (bot/telemetry/request_ids.py)
    # the widget
    page_url: str
    timezone: str  # the browser's IANA time zone
    # Slack
    team: str
    slack_channel: str | None
    thread: str | None
    slack_user: str
    is_dm: bool
    source: str  # message, mention, click, command, home


class Button(TypedDict, total=False):
    title: str
    payload: str  # what Rasa receives when it is pressed ("/affirm", an intent with entities)


class BotMessage(TypedDict, total=False):
    """One of the bot's replies, as Rasa's REST channel sends it. It is JSON made by our actions
    and responses, so the channels still read each field defensively."""

    recipient_id: str
    text: str
    buttons: list[Button]
    image: str
    custom: dict[str, Any]  # free-form: Slack blocks, or {"private": true}


# What Rasa's gateway channel says of a turn in its answer's headers (bot/rasa_server/channel.py).
INTENT_HEADER = "X-Assistant-Intent"
FALLBACK_HEADER = "X-Assistant-Fallback"
TASK_HEADER = "X-Assistant-Task"  # a task the turn completed, nothing left waiting (bot/gateway/ratings.py)
_INTENT_NAME = re.compile(r"[a-z0-9_]{1,64}")


def completed_task(messages: list[BotMessage]) -> str | None:
    """The task this turn's answer (``Rasa.say``) completed, if any."""
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get(TASK_DONE), str):
            return str(custom[TASK_DONE])
    return None


class RasaUnavailable(Exception):
    """Rasa did not answer (down, too slow, or an error). ``str()`` is a message for the user."""

    def __init__(self, detail: str) -> None:
        super().__init__(CANT_REACH)
        self.detail = detail


# The balancer sends a conversation's turns to the Rasa server that has it in memory (deploy/
# haproxy.cfg.template); it gets a hash, never the sender id.
CONVERSATION_HEADER = "X-Conversation"


def conversation_key(sender: str) -> str:
    return hashlib.sha256(sender.encode()).hexdigest()[:32]


# Seconds a connection to Rasa is kept idle for the next turn: under Sanic's keep-alive (5 s), so a
# turn is never sent on a connection Rasa is closing.
KEEP_ALIVE_S = 4.0

# What Rasa answered: status, headers, body.
Answer = tuple[int, Mapping[str, str], bytes]


class _Aiohttp:
    """How the gateway reaches Rasa: aiohttp's client, one session (its connection pool) per event
    loop. httpx costs several times its CPU per request once many connections are pooled (it checks
    every pooled connection on each request), and every widget and Slack turn makes one."""

    def __init__(self, token: str, timeout: float) -> None:
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=3.0)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _current(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_S),
                trust_env=False,
            )
            self._loop = loop
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            async with self._current().post(url, data=body, headers=headers) as answer:
                return answer.status, answer.headers, await answer.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise RasaUnavailable(type(error).__name__) from None

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None


class _Httpx:
    """Rasa through an httpx transport: the tests' stand-ins for Rasa (``httpx.MockTransport``)."""

    def __init__(self, token: str, timeout: float, transport: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout, connect=3.0),
            transport=transport,
            trust_env=False,
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            answer = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise RasaUnavailable(type(error).__name__) from None
        return answer.status_code, answer.headers, answer.content

    async def aclose(self) -> None:
        await self._client.aclose()


class Rasa:
    def __init__(
        self, webhook_url: str, token: str, *, timeout: float = 20.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """``transport``: an httpx transport standing in for Rasa (tests); without one, Rasa's
        channel is reached over HTTP with aiohttp."""
        self.webhook_url = webhook_url
        self._http: _Aiohttp | _Httpx = (
            _Aiohttp(token, timeout) if transport is None else _Httpx(token, timeout, transport)
        )
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _lock(self, sender: str) -> asyncio.Lock:
        lock = self._turns.get(sender)
        if lock is None:
            lock = self._turns[sender] = asyncio.Lock()
        return lock

    async def say(self, sender: str, text: str, metadata: TurnMetadata) -> list[BotMessage]:
        """Send one message as ``sender``; the bot's replies (Rasa's REST message dicts: text,
        buttons, image, custom...). Raises ``RasaUnavailable``. The text is cleaned once more here,
        the one way to Rasa: with nothing left, nothing is sent (channels answer ``NO_TEXT`` first).

        The turn's request id goes with it in the metadata (the one the channel gave, the one
        bound to this request, or a new one) and is bound while it runs; its time and outcome are
        counted (bot/gateway/metrics.py)."""
        text = clean(text)
        if not text:
            return []
        rid = request_ids.well_formed(metadata.get("request_id")) or request_ids.current() or request_ids.new()
        bound = request_ids.bind(rid)
        channel = metrics.channel_label(metadata.get("channel"))
        started = time.perf_counter()
        try:
            messages, headers = await self._turn(sender, text, {**metadata, "request_id": rid})
        except RasaUnavailable:
            metrics.turn_unavailable(channel, time.perf_counter() - started)
            raise
        finally:
            request_ids.unbind(bound)
        seconds, intent = time.perf_counter() - started, headers.get(INTENT_HEADER)
        intent = intent if intent and _INTENT_NAME.fullmatch(intent) else None
        fallback = headers.get(FALLBACK_HEADER) == "1"
        metrics.turn_answered(channel, seconds, intent, fallback)
        # The header is the one word on a completed task: it is given only when nothing waits for
        # the customer. Markers in the messages themselves are dropped; the header's becomes one.
        messages = [m for m in messages if not (isinstance(m.get("custom"), dict) and TASK_DONE in m["custom"])]
        task = headers.get(TASK_HEADER)
        if task and _INTENT_NAME.fullmatch(task):
            messages.append({"custom": {TASK_DONE: task}})
        # One line a turn, with its request id: where to start following it (docs/operations.md)
        log.info(
            "turn for %s on %s: intent %s%s, %d replies in %.0f ms",
            sender,
            channel,
            intent or "unknown",
            " (fallback)" if fallback else "",
            len(messages),
            seconds * 1000,
            extra={"request_id": rid},
        )
        return messages

    async def _turn(self, sender: str, text: str, metadata: TurnMetadata) -> tuple[list[BotMessage], Mapping[str, str]]:
        body = json.dumps(
            {"sender": sender, "message": text, "metadata": without_surrogates(metadata)},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        lock = self._lock(sender)
        async with lock:
            try:
                status, headers, content = await self._http.post(
                    self.webhook_url,
                    body,
                    {request_ids.HEADER: metadata["request_id"], CONVERSATION_HEADER: conversation_key(sender)},
                )
            except RasaUnavailable as error:
                log.warning("rasa: %s for %s", error.detail, sender)
                raise
        if status != 200:
            log.warning("rasa answered %s for %s", status, sender)
            raise RasaUnavailable(f"status {status}")
        try:
            messages = json.loads(content)
        except ValueError:
            raise RasaUnavailable("not JSON") from None
        if not isinstance(messages, list):
            raise RasaUnavailable("not a list")
        return [cast(BotMessage, m) for m in messages if isinstance(m, dict)], headers
