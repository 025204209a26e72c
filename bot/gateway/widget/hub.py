"""Conversations in this gateway process: who is connected as which sender, and one worker per
sender that hands its turns to Rasa in arrival order.

A turn outlives the connection that sent it: if a visitor's socket drops while Rasa is thinking,
the reply is stored anyway and the reconnected socket (or another tab) receives it. Every message
goes through the history table first, then to every socket of that sender here and, through the
fan-out (``bot/gateway/fanout.py``: Redis pub/sub when configured), to its sockets on the other
gateway replicas: the fan-out says only "new rows up to id N for this sender" (and/or typing on/off),
and the other replica reads the rows from the table, so no message text travels through Redis and
no event, even a validly signed one, can show a visitor something that is not stored for them.
A poller picks up messages written by other processes in case an event was missed (Redis down, or
no Redis: every POLL_EVERY_S; with Redis, every POLL_WITH_FANOUT_S as a safety net).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import ratings as rating_texts
from ..fanout import Fanout, FanoutEvent
from ..rasa import Rasa, RasaUnavailable, TurnMetadata, completed_task
from ..ratings import Ratings
from .history import Body, History, Row, bot_messages

log = logging.getLogger(__name__)

POLL_EVERY_S = 2.0
POLL_WITH_FANOUT_S = 30.0
REMOTE_QUEUE = 256  # events from other replicas waiting for one conversation (rows are read from the table)


class Socket(Protocol):
    """What the hub needs of a connection (``ws.Connection``): ``deliver`` sends a stored message
    unless the socket already has it (by id), ``send`` anything else (typing)."""

    last_seq: int

    async def deliver(self, row: Row) -> None: ...

    async def send(self, message: dict[str, Any]) -> None: ...


@dataclass
class Turn:
    text: str  # what Rasa receives (redacted; a button's payload)
    metadata: TurnMetadata


@dataclass
class Conversation:
    sender: str
    sockets: set[Socket] = field(default_factory=set)
    queue: asyncio.Queue[Turn] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # dedupe + store + enqueue, in order
    typing: bool = False
    # Events from other replicas (``Hub.remote``), handled in order by one task at a time.
    remote: deque[FanoutEvent] = field(default_factory=lambda: deque(maxlen=REMOTE_QUEUE))
    remote_worker: asyncio.Task[None] | None = None
    # The newest row stored here that the other replicas have not been told of yet: it goes out with
    # the typing event that follows it at once (``Hub.publish``).
    unannounced: int = 0

    @property
    def idle(self) -> bool:
        """No turn under way or queued: a turn enqueued now starts at once."""
        return (self.worker is None or self.worker.done()) and self.queue.empty()


class Hub:
    def __init__(
        self,
        rasa: Rasa,
        history: History,
        fanout: Fanout | None = None,
        poll_every: float | None = None,
        ratings: Ratings | None = None,
    ) -> None:
        self.rasa = rasa
        self.ratings = ratings
        self.history = history
        self.fanout = fanout or Fanout()
        self.poll_every = poll_every or (POLL_WITH_FANOUT_S if self.fanout.shared else POLL_EVERY_S)
        self.conversations: dict[str, Conversation] = {}
        self._poller: asyncio.Task[None] | None = None
        self._remote_workers: set[asyncio.Task[None]] = set()
        self._closing = False
        # Called after each stored reply with (sender, rows): e.g. metrics or a handoff bridge.
        self.listeners: list[Callable[[str, list[Row]], Awaitable[None]]] = []
        # Asked before each turn with (sender, text): True takes the turn away from Rasa (a rep has
        # the conversation: the handoff bridge sends it to the Slack thread instead).
        self.diverters: list[Callable[[str, str], Awaitable[bool]]] = []

    # -- connections --------------------------------------------------------------------------------

    def conversation(self, sender: str) -> Conversation:
        conv = self.conversations.get(sender)
        if conv is None:
            conv = self.conversations[sender] = Conversation(sender)
        return conv

    def join(self, sender: str, socket: Socket) -> Conversation:
        conv = self.conversation(sender)
        conv.sockets.add(socket)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="widget-history-poller")
        return conv

    def leave(self, sender: str, socket: Socket) -> None:
        conv = self.conversations.get(sender)
        if conv is None:
            return
        conv.sockets.discard(socket)
        self._forget_if_idle(conv)

    def _forget_if_idle(self, conv: Conversation) -> None:
        if (
            not conv.sockets
            and (conv.worker is None or conv.worker.done())
            and conv.queue.empty()
            and not conv.lock.locked()
        ):
            self.conversations.pop(conv.sender, None)

    # -- delivery ----------------------------------------------------------------------------------

    async def publish(self, sender: str, rows: list[Row], *, with_typing: bool = False) -> None:
        """Send stored rows to every socket of the sender, here and on the other replicas (each
        socket skips what it already has). ``with_typing``: a typing event follows at once (a
        customer's message before its turn starts, the bot's answer as the last turn ends), and the
        other replicas hear of the rows with it, rows first: one fan-out event instead of two."""
        await self._deliver(sender, rows)
        if not (self.fanout.shared and rows):
            return
        conv = self.conversations.get(sender)
        upto = max(r.id for r in rows)
        if conv is not None:
            upto, conv.unannounced = max(upto, conv.unannounced), 0
            if with_typing:
                conv.unannounced = upto
                return
        await self.fanout.publish({"sender": sender, "upto": upto})

    async def _announce(self, conv: Conversation) -> None:
        """Rows that were to go with a typing event that did not come (another turn was queued)."""
        if conv.unannounced and self.fanout.shared:
            upto, conv.unannounced = conv.unannounced, 0
            await self.fanout.publish({"sender": conv.sender, "upto": upto})

    async def _deliver(self, sender: str, rows: list[Row]) -> None:
        conv = self.conversations.get(sender)
        for socket in list(conv.sockets) if conv else []:
            for row in rows:
                try:
                    await socket.deliver(row)
                except Exception:
                    log.debug("widget: send failed", exc_info=True)
                    break

    async def broadcast(self, sender: str, message: dict[str, Any]) -> None:
        """A message that is not stored to every socket of the sender here; typing on every replica."""
        await self._send(sender, message)
        if self.fanout.shared and message.get("type") == "typing":
            event: FanoutEvent = {"sender": sender, "typing": bool(message.get("on"))}
            conv = self.conversations.get(sender)
            if conv is not None and conv.unannounced:
                event["upto"], conv.unannounced = conv.unannounced, 0
            await self.fanout.publish(event)

    async def _send(self, sender: str, message: dict[str, Any]) -> None:
        conv = self.conversations.get(sender)
        for socket in list(conv.sockets) if conv else []:
            try:
                await socket.send(message)
            except Exception:
                log.debug("widget: send failed", exc_info=True)

    async def remote(self, event: dict[str, object]) -> None:
        """An event another replica published (``publish``/``broadcast`` there), already checked by
        the fan-out: new rows are read from the history table for our sockets, typing is passed on.
        Anything else is ignored."""
        sender = event.get("sender")
        conv = self.conversations.get(sender) if isinstance(sender, str) else None
        if conv is None or not conv.sockets:
            return
        upto, typing = event.get("upto"), event.get("typing")
        queued: list[FanoutEvent] = []
        if type(upto) is int and upto > 0:
            queued.append({"upto": upto})  # new rows first, then the typing state that came with them
        if type(typing) is bool:
            queued.append({"typing": typing})
        if not queued:
            return
        conv.remote.extend(queued)
        if conv.remote_worker is None or conv.remote_worker.done():
            conv.remote_worker = asyncio.create_task(self._remote_work(conv), name=f"widget-remote-{sender}")
            self._remote_workers.add(conv.remote_worker)
            conv.remote_worker.add_done_callback(self._remote_workers.discard)

    async def _remote_work(self, conv: Conversation) -> None:
        """The conversation's events from other replicas, in the order they came, in a task of its
        own (the fan-out listener goes on with the next event meanwhile). New rows are read once for
        a run of such events, from the oldest any socket here lacks; each socket skips what it has."""
        while conv.remote and conv.sockets:
            event = conv.remote.popleft()
            if "typing" in event:
                await self._send(conv.sender, {"type": "typing", "on": event["typing"]})
                continue
            upto = event["upto"]
            while conv.remote and "upto" in conv.remote[0]:
                upto = max(upto, conv.remote.popleft()["upto"])
            sockets = list(conv.sockets)
            if all(s.last_seq >= upto for s in sockets):
                continue  # delivered here already (the poller, or a catch-up)
            try:
                rows = await self.history.after(conv.sender, min(s.last_seq for s in sockets))
            except Exception:
                log.warning("widget: reading %s's new messages failed", conv.sender, exc_info=True)
                continue
            await self._deliver(conv.sender, rows)
        conv.remote.clear()

    async def catch_up_all(self) -> None:
        """Every socket here gets what is stored after its last message (after a fan-out outage)."""
        for sender, conv in list(self.conversations.items()):
            for socket in list(conv.sockets):
                try:
                    await self.catch_up(socket, sender)
                except Exception:
                    log.debug("widget: catch-up failed", exc_info=True)

    async def catch_up(self, socket: Socket, sender: str) -> None:
        """Send the socket whatever is stored after its last seen message."""
        for row in await self.history.after(sender, socket.last_seq):
            await socket.deliver(row)

    async def _poll(self) -> None:
        """Messages stored by other processes reach this process's sockets within ``poll_every``."""
        while self.conversations and not self._closing:
            await asyncio.sleep(self.poll_every)
            active = {s: c for s, c in self.conversations.items() if c.sockets}
            if not active:
                continue
            try:
                latest = await self.history.latest(list(active))
            except Exception:
                log.warning("widget: history poll failed", exc_info=True)
                continue
            for sender, top in latest.items():
                conv = active[sender]
                if conv.lock.locked():
                    continue  # this process is writing; it publishes itself
                for socket in list(conv.sockets):
                    if top > socket.last_seq:
                        try:
                            await self.catch_up(socket, sender)
                        except Exception:
                            log.debug("widget: catch-up failed", exc_info=True)

    # -- turns -------------------------------------------------------------------------------------

    def enqueue(self, conv: Conversation, turn: Turn) -> None:
        conv.queue.put_nowait(turn)
        if conv.worker is None or conv.worker.done():
            conv.worker = asyncio.create_task(self._work(conv), name=f"widget-turns-{conv.sender}")

    async def _work(self, conv: Conversation) -> None:
        try:
            while not conv.queue.empty():
                turn = conv.queue.get_nowait()
                await self._turn(conv, turn)
        finally:
            if conv.typing:
                conv.typing = False
                await self.broadcast(conv.sender, {"type": "typing", "on": False})
            self._forget_if_idle(conv)

    async def _turn(self, conv: Conversation, turn: Turn) -> None:
        # Every message's turn is framed by typing on ... off, whoever answers it: Rasa, the gateway
        # itself (a rating comment) or the handoff bridge (a rep has the conversation). The widget
        # shows the dots while a message is being handled, and "off" is how a client knows the turn
        # is over (tests/e2e/widget_client.py); a turn the gateway answers without dots would leave
        # a client waiting for them.
        if not conv.typing:
            conv.typing = True
            await self.broadcast(conv.sender, {"type": "typing", "on": True})
        await self._announce(conv)  # the dots were on already: the customer's message goes on its own
        try:
            for divert in self.diverters:
                try:
                    if await divert(conv.sender, turn.text):
                        return
                except Exception:
                    log.exception("widget: diverter failed for %s", conv.sender)
            await self._answer(conv, turn)
        finally:
            if conv.queue.empty() and conv.typing:  # more turns queued: the dots stay
                conv.typing = False
                await self.broadcast(conv.sender, {"type": "typing", "on": False})
            await self._announce(conv)

    async def _answer(self, conv: Conversation, turn: Turn) -> None:
        """Rasa's answer to the turn (and a rating offer after a completed task), stored and shown."""
        try:
            answer = await self.rasa.say(conv.sender, turn.text, turn.metadata)
            replies = bot_messages(answer)
            if (task := completed_task(answer)) is not None:
                replies += await self._rating_offer(conv.sender, task, turn.metadata.get("identity", {}).get("email"))
        except RasaUnavailable as error:
            replies = [{"text": str(error), "error": True}]
        except Exception:
            log.exception("widget: turn failed for %s", conv.sender)
            replies = [{"text": RasaUnavailable("unexpected").args[0], "error": True}]
        if replies:
            await self._reply(conv, replies)

    async def _reply(self, conv: Conversation, replies: list[Body]) -> None:
        try:
            rows = await self.history.append(conv.sender, [("bot", body) for body in replies])
        except Exception:
            log.exception("widget: could not store the replies for %s", conv.sender)
            for body in replies:
                await self.broadcast(conv.sender, {"type": "msg", "seq": None, "from": "bot", "ts": None, **body})
            return
        await self.publish(conv.sender, rows, with_typing=conv.queue.empty())  # the dots go off next (_turn)
        for listener in self.listeners:
            try:
                await listener(conv.sender, rows)
            except Exception:
                log.exception("widget: reply listener failed")

    async def _rating_offer(self, sender: str, task: str, customer: str | None) -> list[Body]:
        """The rating offer after a completed task, unless this session had one (ratings.py)."""
        if self.ratings is None:
            return []
        try:
            offer = await self.ratings.offer(sender, "widget", task, customer=customer)
        except Exception:  # a rating is never worth failing the customer's turn for
            log.exception("widget: could not offer a rating to %s", sender)
            return []
        return [{"text": rating_texts.OFFER, "rating": offer}] if offer else []

    async def offer_rating(self, sender: str, task: str, customer: str | None = None) -> None:
        """A rating offer outside a turn (a handoff closed by a rep), shown like any bot message."""
        bodies = await self._rating_offer(sender, task, customer)
        if bodies:
            await self.say(sender, bodies[0])

    async def say(self, sender: str, body: Body) -> Row:
        """A bot message from the gateway itself (ratings' answers): stored, then shown."""
        conv = self.conversation(sender)
        async with conv.lock:
            rows = await self.history.append(sender, [("bot", body)])
        await self.publish(sender, rows)
        self._forget_if_idle(conv)
        return rows[0]

    async def push(self, sender: str, text: str, *, author: str = "agent", name: str | None = None) -> Row:
        """A message to a widget conversation from outside Rasa: a sales rep answering from Slack
        (the handoff's ``conversation_id`` is the sender). Stored, then shown in every open tab;
        a visitor who is away sees it on their next visit."""
        body: Body = {"text": text[:8_000]}
        if name:
            body["name"] = name[:80]
        conv = self.conversation(sender)
        async with conv.lock:
            rows = await self.history.append(sender, [(author, body)])
        await self.publish(sender, rows)
        self._forget_if_idle(conv)
        return rows[0]

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every queued turn is done (shutdown, tests)."""
        workers = [c.worker for c in self.conversations.values() if c.worker and not c.worker.done()]
        if workers:
            await asyncio.wait(workers, timeout=timeout)

    async def close(self) -> None:
        self._closing = True
        await self.wait_idle(timeout=10.0)
        if self._poller is not None:
            self._poller.cancel()
        for task in list(self._remote_workers):
            task.cancel()
