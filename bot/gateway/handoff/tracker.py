"""The Rasa side of a live handoff: the conversation is paused, and still records everything.

- claim: Rasa's ``pause`` event. From then on Rasa predicts nothing for that conversation,
  whatever reaches it (a message that slipped past the bridge gets no answer).
- the customer's messages: recorded as their turns (``user`` events, with NLU's reading of the
  text from ``/model/parse``, card numbers already redacted), in the order they came;
- the rep's replies: ``bot`` events whose metadata names the rep (``{"handoff": "HO-1", "rep":
  "U123", "rep_name": "Dana from Sales"}``), so the record tells a person's words from the bot's;
- close: ``resume``, a quote or payment left waiting for a "yes" is dropped (a "yes" after a
  conversation with a person must not place an order asked about before it), and the assistant's
  "you're back" is recorded as the bot's.

The customer's messages are appended as events rather than posted to the webhook of a paused
conversation because Rasa 3.6 still acts on a paused conversation in two cases: "/restart"
un-pauses it, and so does a message after the session expired (the new session starts
un-paused). Appending predicts nothing, ever.

Everything goes through Rasa's HTTP API (``rasa run --enable-api``, token ``RASA_API_TOKEN``), in
order per conversation, from a background queue: the relay between customer and rep never waits
for Rasa. Each call has a timeout; when Rasa is unreachable the record misses those events (they
are logged and dropped) and the relay goes on. Only ``resume`` is waited for (bounded), so that
"you're back with the assistant" is true when the customer reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from bot.nlu.cards import redact, redact_shown

log = logging.getLogger(__name__)

MAX_WAITING = 200  # events of one conversation waiting for Rasa; more are dropped (and logged)
FORGOTTEN_AFTER_CLOSE = ("pending_quote", "pending_payment")
Job = Callable[[], Awaitable[None]]
Event = dict[str, Any]  # a tracker event, as Rasa's HTTP API takes it (JSON)


class RasaUnreachable(Exception):
    pass


class HandoffTracker:
    def __init__(
        self, url: str, token: str, *, timeout: float = 3.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.enabled = bool(url and token)
        if not self.enabled:
            log.warning(
                "handoff: RASA_API_URL/RASA_API_TOKEN not set: conversations are not paused in Rasa "
                "while a person has them, and what is said then is not in Rasa's record"
            )
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/") or "http://rasa.invalid",
            params={"token": token},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            trust_env=False,
        )
        self._queues: dict[str, asyncio.Queue[tuple[Job, asyncio.Future[None] | None]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    async def aclose(self) -> None:
        await self.drain(timeout=5.0)
        await self._client.aclose()

    # -- what the bridge records ------------------------------------------------------------------------

    def pause(self, sender: str, number: str) -> None:
        self._enqueue(sender, lambda: self._append(sender, [{"event": "pause"}], f"pause for {number}"))

    def customer(self, sender: str, text: str, number: str, channel: str) -> None:
        text = redact(text)[0]  # as Rasa's channel would have it (the bridge has done it already)

        async def job() -> None:
            parsed = await self._parse(text)
            event: Event = {
                "event": "user",
                "text": text,
                "input_channel": "gateway",
                "metadata": {"handoff": number, "channel": channel},
            }
            if parsed is not None:
                event["parse_data"] = parsed
            await self._append(sender, [event], f"customer message in {number}")

        self._enqueue(sender, job)

    def rep(self, sender: str, text: str, number: str, rep: str, name: str | None) -> None:
        event: Event = {
            "event": "bot",
            "text": redact_shown(text)[0],
            "metadata": {"handoff": number, "rep": rep, "rep_name": name},
        }
        self._enqueue(sender, lambda: self._append(sender, [event], f"rep message in {number}"))

    async def resume(self, sender: str, number: str, back: str, *, wait: float = 3.0) -> None:
        """Resume, forget a pending "yes", record the assistant's return; returns once Rasa has it (or
        after ``wait`` seconds: the customer is told they're back either way)."""
        events: list[Event] = [
            {"event": "resume"},
            *({"event": "slot", "name": s, "value": None} for s in FORGOTTEN_AFTER_CLOSE),
            {"event": "bot", "text": back, "metadata": {"handoff": number, "closed": True}},
        ]
        done = self._enqueue(sender, lambda: self._append(sender, events, f"resume after {number}"), wait=True)
        if done is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(done), wait)

    # -- the per-conversation queue ---------------------------------------------------------------------

    def _enqueue(self, sender: str, job: Job, *, wait: bool = False) -> asyncio.Future[None] | None:
        if not self.enabled:
            return None
        queue = self._queues.get(sender)
        if queue is None:
            queue = self._queues[sender] = asyncio.Queue(MAX_WAITING)
        done = asyncio.get_running_loop().create_future() if wait else None
        try:
            queue.put_nowait((job, done))
        except asyncio.QueueFull:
            log.warning("handoff: Rasa is behind on %s; an event was dropped from its record", sender)
            return None
        if sender not in self._workers:
            self._workers[sender] = asyncio.get_running_loop().create_task(self._work(sender, queue))
        return done

    async def _work(self, sender: str, queue: asyncio.Queue[tuple[Job, asyncio.Future[None] | None]]) -> None:
        try:
            while not queue.empty():
                job, done = queue.get_nowait()
                try:
                    await job()
                except RasaUnreachable as error:
                    log.warning("handoff: Rasa's record of %s misses an event: %s", sender, error)
                except Exception:
                    log.exception("handoff: recording in Rasa failed for %s", sender)
                finally:
                    if done is not None and not done.done():
                        done.set_result(None)
        finally:
            self._workers.pop(sender, None)
            if queue.empty():
                self._queues.pop(sender, None)

    async def drain(self, timeout: float = 10.0) -> None:
        """Until everything queued has been sent (tests, shutdown)."""
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=timeout)

    # -- Rasa's HTTP API ---------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            answer = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise RasaUnreachable(f"{what}: {type(error).__name__}") from None
        if answer.status_code != 200:
            raise RasaUnreachable(f"{what}: Rasa answered {answer.status_code}")
        try:
            return answer.json()
        except ValueError:
            raise RasaUnreachable(f"{what}: not JSON") from None

    async def _append(self, sender: str, events: list[Event], what: str) -> None:
        await self._call(
            "POST",
            f"/conversations/{quote(sender, safe='')}/tracker/events",
            what,
            json=events,
            params={"include_events": "NONE"},
        )

    async def _parse(self, text: str) -> dict[str, Any] | None:
        """NLU's reading (intent, entities) for the record; None if Rasa can't say (recorded bare)."""
        try:
            parsed = await self._call("POST", "/model/parse", "parse", json={"text": text})
        except RasaUnreachable as error:
            log.info("handoff: %s", error)
            return None
        return parsed if isinstance(parsed, dict) else None
