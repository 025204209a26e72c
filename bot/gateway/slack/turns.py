"""One conversation turn, after the ack: dedupe, identity, Rasa, replies.

Listeners only build a ``Turn`` and ``submit`` it (no waiting: Slack got its ack already). Each
Slack user of a workspace has one Rasa conversation (sender ``slack:<team>:<user>``) and one
queue here, worked through in arrival order, so replies come out in the order the messages came
in. A turn holds no card number from the start (``Turn`` redacts its text and echo), then:

1. is dropped unless all its dedupe keys are new (``GatewayState.first_time``: durable and shared
   by every gateway replica): a Slack retry (same event_id), the message + app_mention pair of one
   post (same channel and ts), a second click on the same message;
2. finds who is writing (users.info email and team, cached) and whether billing knows them there:
   a user without a verified email, whose email matches no customer, or whose workspace isn't
   linked to their company's account is told so once (pricing and FAQ still work); in the last
   case no identity goes to Rasa at all;
3. asks Rasa, with a "working on it" reaction if that takes longer than ``slack_slow_turn_s``;
4. posts the replies in order: in a DM as they are; from a channel, in the thread, unless a reply
   holds account data (``privacy.py``): then all of them go to the user's DM and the thread says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.nlu.cards import redact, redact_shown
from bot.nlu.text_hygiene import clean
from bot.telemetry import request_ids

from ..app import Gateway
from ..rasa import NO_TEXT, BotMessage, RasaUnavailable, TurnMetadata, completed_task
from . import blocks
from .identity import Directory, SlackUser, _TTLCache
from .outbox import Outbox
from .privacy import any_private

if TYPE_CHECKING:
    from .rating import SlackRatings

log = logging.getLogger(__name__)

IDLE_S = 60.0  # a user's worker stops after this long without turns
TOLD_TTL_S = 12 * 3600.0  # "no account for your email" is said at most this often per user

NO_FILES = "I can't read files or images, so I haven't looked at the attachment. Please type what you need."
NO_EMAIL = (
    "I can't see a verified email address on your Slack profile, so I can't look at a customer "
    "account for you. Pricing and general questions work; for your account, ask your Slack admin "
    "to show email addresses to apps, or talk to a person."
)
UNKNOWN_EMAIL = (
    "Your Slack email address ({email}) doesn't match a customer account here, so I can't show or "
    "change account details. Pricing and general questions still work. If you should have access, "
    "ask your billing admin to add {email}."
)
NOT_LINKED = (
    "This Slack workspace isn't linked to a customer account, so I can't show or change account details "
    "here. Pricing and general questions still work. If your company is a customer, a system "
    "administrator of its account can link this workspace by installing the app in it, or talk to a person."
)
MOVED_TO_DM = "<@{user}> I've answered you in a direct message: account details stay out of channels."
NO_DM = (
    "<@{user}> that answer holds account details, which I only send in a direct message, and I couldn't "
    "open one. Please message me directly."
)
NOT_NOW = "I can't act on that right now, so nothing was done. Please try again in a minute."
MAX_TEXT = 4000  # Rasa's gateway channel takes at most 5,000 characters
TOO_LONG = (
    "That message is too long for me ({n:,} characters). Please ask in a few sentences, under "
    f"{MAX_TEXT:,} characters."
)


@dataclass
class Turn:
    client: AsyncWebClient
    team: str
    user: str
    text: str
    channel: str | None  # None: the user's DM (opened on the way)
    is_dm: bool = False
    thread_ts: str | None = None  # where replies go; None: top level
    message_ts: str | None = None  # what the "working on it" reaction goes on
    keys: tuple[str, ...] = ()  # dedupe keys: acted on only if every one is new
    source: str = "message"  # message, mention, click, command, home
    echo: str | None = None  # shown in the DM before the answer (slash command, App Home button)
    label: str | None = None  # a button's title, when ``text`` is its payload (click, App Home)
    files: bool = False
    extra: TurnMetadata = field(default_factory=TurnMetadata)  # more for Rasa (card_number_redacted)
    # The id of the Slack request that brought it (Socket Mode: none, one is made when it runs); the
    # turn runs later in the user's queue, outside that request.
    request_id: str | None = field(default_factory=request_ids.current)

    def __post_init__(self) -> None:
        # A card number goes before anything stores, logs, relays or echoes the turn: Rasa gets the
        # token (and the flag the widget sends too), the echo says the number was removed.
        self.text, cards = redact(self.text)
        if cards:
            self.extra = {**self.extra, "card_number_redacted": True}
        if self.echo:
            self.echo = redact_shown(self.echo)[0]

    @property
    def sender(self) -> str:
        return f"slack:{self.team}:{self.user}"


class Turns:
    def __init__(self, gw: Gateway, directory: Directory, outbox: Outbox) -> None:
        self.gw = gw
        self.settings = gw.settings
        self.directory = directory
        self.outbox = outbox
        self._queues: dict[str, asyncio.Queue[Turn]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._told: _TTLCache[str, bool] = _TTLCache()  # sender -> told why account requests won't work
        self._dms: _TTLCache[str, str] = _TTLCache()  # user -> their DM channel with the app
        # Asked with each turn before Rasa: True takes it away from the bot (a person has the
        # conversation: the handoff bridge relays it to them).
        self.diverters: list[Callable[[Turn], Awaitable[bool]]] = []
        self.ratings: SlackRatings | None = None  # offers after a completed task (rating.py)

    # -- queueing -----------------------------------------------------------------------------------

    def submit(self, turn: Turn) -> None:
        """Queue ``turn`` behind the user's earlier ones (returns at once)."""
        queue = self._queues.get(turn.sender)
        if queue is None:
            queue = self._queues[turn.sender] = asyncio.Queue()
            task = asyncio.get_running_loop().create_task(self._work(turn.sender, queue))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        queue.put_nowait(turn)

    async def _work(self, sender: str, queue: asyncio.Queue[Turn]) -> None:
        while True:
            try:
                turn = await asyncio.wait_for(queue.get(), timeout=IDLE_S)
            except TimeoutError:
                if queue.empty():  # no await between this check and the removal: nothing slips in
                    self._queues.pop(sender, None)
                    return
                continue
            try:
                await self.handle(turn)
            except Exception:
                log.exception("slack turn for %s failed", sender)
            finally:
                queue.task_done()

    async def drain(self, timeout: float = 10.0) -> None:
        """Let queued turns finish (shutdown), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in list(self._queues.values()))), timeout)
        for task in list(self._workers):
            task.cancel()

    # -- one turn -----------------------------------------------------------------------------------

    async def handle(self, turn: Turn) -> None:
        bound = request_ids.bind(turn.request_id or request_ids.new())
        try:
            await self._handle(turn)
        finally:
            request_ids.unbind(bound)

    async def _handle(self, turn: Turn) -> None:
        turn.text = clean(turn.text)  # whatever the source: message, mention, command, click, App Home
        try:
            for key in turn.keys:
                if not await self.gw.state.first_time(key):
                    log.info("slack: duplicate %s dropped", key)
                    return
        except Exception:
            log.exception("slack: dedupe store failed")
            if turn.channel:
                await self.outbox.post(turn.client, turn.channel, text=NOT_NOW, thread_ts=turn.thread_ts)
            return
        for divert in self.diverters:
            try:
                if await divert(turn):
                    return
            except Exception:
                log.exception("slack: a turn diverter failed")
        if turn.channel is None:
            turn.channel = await self.open_dm(turn.client, turn.user)
            if turn.channel is None:
                return
            turn.is_dm, turn.thread_ts = True, None
            if turn.echo:
                turn.message_ts = await self.outbox.post(
                    turn.client,
                    turn.channel,
                    text=f"You asked: {blocks.escape(turn.echo)}",
                    blocks=blocks.note(f"You asked: *{turn.echo}*"),
                )

        who = await self.directory.checked(await self.directory.user(turn.client, turn.team, turn.user))
        notes = await self._notes(turn, who)
        messages: list[BotMessage] = []
        if len(turn.text) > MAX_TEXT:
            messages = [{"text": TOO_LONG.format(n=len(turn.text))}]
        elif turn.text:
            messages = await self._ask_rasa(turn, who)
            if self.ratings is not None and (task := completed_task(messages)) is not None:
                offer = await self.ratings.offer(turn.sender, task, turn.user, team=turn.team, customer=who.email)
                messages += [offer] if offer else []  # posted where the task's replies go
        elif turn.source == "message" and not turn.files:
            messages = [{"text": NO_TEXT}]
        if turn.files:
            notes.append(NO_FILES)
        await self._reply(turn, [BotMessage(text=n) for n in notes] + messages)

    async def _notes(self, turn: Turn, who: SlackUser) -> list[str]:
        """Said once in a while: why account requests won't work for this user."""
        if self._told.get_fresh(turn.sender):
            return []
        if who.email is None:
            note = {"hidden": NO_EMAIL, "unverified": NO_EMAIL, "not_linked": NOT_LINKED}.get(who.why_no_email or "")
        else:
            note = UNKNOWN_EMAIL.format(email=who.email) if who.account == "unknown" else None
        if note is None:
            return []
        self._told.put(turn.sender, True, TOLD_TTL_S)
        return [note]

    def metadata(self, turn: Turn, who: SlackUser) -> TurnMetadata:
        meta: TurnMetadata = {
            "channel": "slack",
            "team": turn.team,
            "slack_channel": turn.channel,
            "thread": turn.thread_ts,
            "slack_user": turn.user,
            "is_dm": turn.is_dm,
            "source": turn.source,
            **turn.extra,
        }
        if who.identity:
            meta["identity"] = who.identity
        return meta

    async def _ask_rasa(self, turn: Turn, who: SlackUser) -> list[BotMessage]:
        reacting: dict[str, bool] = {}
        working = asyncio.create_task(self._working_on_it(turn, reacting))
        started = time.monotonic()
        try:
            return await self.gw.rasa.say(turn.sender, turn.text, self.metadata(turn, who))
        except RasaUnavailable as error:
            return [{"text": str(error)}]
        finally:
            if reacting.get("started"):
                await asyncio.shield(working)  # the reaction is on its way: let it land, then take it off
            else:
                working.cancel()
            if reacting.get("added"):
                await self._reaction(turn, "reactions_remove")
            log.debug("slack turn for %s took %.0f ms", turn.sender, (time.monotonic() - started) * 1000)

    async def _working_on_it(self, turn: Turn, reacting: dict[str, bool]) -> None:
        """After ``slack_slow_turn_s``, a "working on it" reaction on the user's message."""
        if not turn.message_ts or not turn.channel:
            return
        await asyncio.sleep(self.settings.slack_slow_turn_s)
        reacting["started"] = True
        reacting["added"] = await self._reaction(turn, "reactions_add")

    async def _reaction(self, turn: Turn, method: str) -> bool:
        try:
            await getattr(turn.client, method)(
                channel=turn.channel, timestamp=turn.message_ts, name=self.settings.slack_working_reaction
            )
            return True
        except Exception as error:
            log.info("slack: %s failed: %s", method, getattr(error, "response", error))
            return False

    async def open_dm(self, client: AsyncWebClient, user: str) -> str | None:
        cached = self._dms.get_fresh(user)
        if cached:
            return cached
        try:
            answer = await client.conversations_open(users=user)
        except Exception as error:
            log.warning("slack: conversations.open for %s failed: %s", user, getattr(error, "response", error))
            return None
        channel = (answer.get("channel") or {}).get("id")
        if channel:
            self._dms.put(user, channel, 24 * 3600.0)
        return channel

    async def _reply(self, turn: Turn, messages: list[BotMessage]) -> None:
        if not messages or turn.channel is None:
            return
        channel, thread = turn.channel, turn.thread_ts
        if not turn.is_dm and any_private(messages):
            dm = await self.open_dm(turn.client, turn.user)
            text = (MOVED_TO_DM if dm else NO_DM).format(user=turn.user)
            await self.outbox.post(turn.client, turn.channel, text=text, thread_ts=turn.thread_ts)
            if dm is None:
                return
            channel, thread = dm, None
        for message in messages:
            rendered = blocks.message_blocks(message, for_user=turn.user)
            if not rendered:  # e.g. a custom {"private": true} marker: nothing to show
                continue
            await self.outbox.post(
                turn.client, channel, text=blocks.fallback_text(message), blocks=rendered, thread_ts=thread
            )
