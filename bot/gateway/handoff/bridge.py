"""The live bridge between a customer (widget or Slack DM) and a rep in the queue's Slack thread.

- ``opened``: the action server tells the gateway about a new billing handoff; the summary goes to
  the queue's channel with a Claim button; the answer says whether the queue is open now.
- ``claim``: the first click wins (``HandoffStore.claim``), the summary shows who has it, the
  customer is told "NAME from Sales joined".
- ``from_rep`` / ``from_customer``: thread replies reach the customer under the rep's name; the
  customer's messages go to the thread instead of to the bot while the handoff is claimed.
- ``close``: the Close button or "close" in the thread; the bot has the conversation again and says so.
- ``watch``: unclaimed handoffs are re-alerted, then the customer is offered the phone and a callback.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.billing_client import BillingError
from bot.billing_client.errors import NotFound
from bot.nlu.cards import redact

from ..slack.blocks import escape, from_slack
from .queues import Queue
from .store import HandoffStore, Live
from .summary import Notice, claimed_blocks, closed_blocks, summary_blocks

log = logging.getLogger(__name__)

CLOSE_WORDS = re.compile(r"^\s*[!/]?(close|done|end|resolve[d]?)\s*\.?\s*$", re.IGNORECASE)
WATCH_EVERY_S = 15.0
JOINED = "{name} joined the chat. You're talking to a person now."
BACK = "{name} has left the chat. You're back with the assistant: ask me anything."
UNCLAIMED = ("Nobody from {queue} could pick this up yet, sorry. Call us on {phone} ({hours}), or say "
             "\"call me back\" and tell me when suits you.")
ALREADY = "Already claimed by <@{rep}>."
NOT_CLAIMED = "Claim the handoff first: thread replies reach the customer once it's claimed."
CLOSED_ALREADY = "This handoff is closed; the customer is back with the assistant."


class UnknownHandoff(LookupError):
    pass


class Bridge:
    def __init__(self, gw: Any, queues: dict[str, Queue], store: HandoffStore) -> None:
        self.gw = gw
        self.queues = queues
        self.store = store
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self.slack: Any = None  # the SlackChannel, when Slack is on
        self._names: dict[str, str] = {}

    @property
    def client(self) -> AsyncWebClient | None:
        return self.slack.app.client if self.slack is not None else None

    def queue_channels(self) -> set[str]:
        return {q.channel for q in self.queues.values() if q.channel}

    # -- a new handoff -------------------------------------------------------------------------------

    async def opened(self, notice: Notice) -> dict[str, Any]:
        queue = self.queues.get(notice.queue)
        if queue is None:
            raise ValueError("queue: sales or support")
        await self._check_with_billing(notice)
        open_now = queue.is_open(self.clock())
        answer = {"queue": queue.name, "open": open_now, "hours": queue.hours_label(),
                  "phone": self.gw.settings.handoff_phone, "posted": False}
        if not await self.store.add(notice.number, queue.name, notice.conversation_id, self.clock()):
            live = await self.store.get(notice.number)
            return {**answer, "posted": bool(live and live.post_ts)}  # the same notice again
        if queue.channel and self.client is not None:
            ts = await self.slack.outbox.post(
                self.client, queue.channel, text=f"{queue.title} handoff {notice.number}: {notice.reason}",
                blocks=summary_blocks(notice, queue.title, open_now=open_now, hours=queue.hours_label()))
            if ts:
                await self.store.posted(notice.number, queue.channel, ts)
                answer["posted"] = True
        else:
            log.warning("handoff %s: queue %s has no Slack channel (HANDOFF_%s_CHANNEL)", notice.number, queue.name,
                        queue.name.upper())
        return answer

    async def _check_with_billing(self, notice: Notice) -> None:
        """The record must exist in billing for that conversation (the token alone is not enough to
        post a customer's words to a channel). Billing down: the notice is trusted (token-checked)."""
        billing = self.gw.billing
        try:
            acting = billing.as_user(notice.email, channel="api") if notice.email and "@" in notice.email \
                else billing.as_visitor(channel="api")
            await acting.handoff(notice.number, conversation_id=notice.conversation_id)
        except NotFound:
            raise UnknownHandoff(notice.number) from None
        except BillingError as error:
            log.warning("handoff %s: billing unavailable to check it (%s); posting anyway", notice.number, error)

    # -- claim and close -----------------------------------------------------------------------------

    async def rep_name(self, client: AsyncWebClient, user: str) -> str:
        if user in self._names:
            return self._names[user]
        name = user
        try:
            info = (await client.users_info(user=user)).get("user") or {}
            profile = info.get("profile") or {}
            name = profile.get("display_name") or info.get("real_name") or profile.get("real_name") or user
        except Exception as error:  # noqa: BLE001 - a name is nice to have
            log.info("slack: users.info for %s failed: %s", user, getattr(error, "response", error))
        self._names[user] = name = str(name).split(" ")[0] or user
        return name

    async def claim(self, client: AsyncWebClient, number: str, rep: str, channel: str, ts: str,
                    blocks: list[dict[str, Any]]) -> bool:
        name = await self.rep_name(client, rep)
        live = await self.store.get(number)
        if live is None:
            return False
        queue = self.queues[live.queue]
        if not await self.store.claim(number, rep, f"{name} from {queue.title}", self.clock()):
            live = await self.store.get(number)
            text = ALREADY.format(rep=live.claimed_by) if live and live.claimed_by else CLOSED_ALREADY
            await self.slack.outbox.ephemeral(client, channel, rep, text)
            return False
        await self.slack.outbox.update(client, channel, ts, text=f"{queue.title} handoff {number}: claimed by {name}",
                                       blocks=claimed_blocks(blocks, number, rep))
        live = await self.store.get(number)
        await self.to_customer(live, JOINED.format(name=live.claimed_name), live.claimed_name, author="agent")
        return True

    async def close(self, client: AsyncWebClient, live: Live, rep: str, blocks: list[dict[str, Any]] | None) -> bool:
        if not await self.store.close(live.number, self.clock()):
            return False
        if live.post_channel and live.post_ts:
            base = blocks or [{"type": "section", "text": {"type": "mrkdwn",
                                                           "text": f"*{self.queues[live.queue].title} handoff {live.number}*"}}]
            await self.slack.outbox.update(client, live.post_channel, live.post_ts, text=f"Handoff {live.number}: closed",
                                           blocks=closed_blocks(base, rep))
        await self.to_customer(live, BACK.format(name=live.claimed_name or "Our team"), None, author="bot")
        return True

    # -- messages both ways ------------------------------------------------------------------------------

    async def to_customer(self, live: Live, text: str, name: str | None, *, author: str = "agent") -> None:
        sender = live.sender
        if sender.startswith(("wv-", "wu-")):
            if self.gw.widget is not None:
                await self.gw.widget.push(sender, text, author=author, name=name)
            return
        if sender.startswith("slack:") and self.slack is not None:
            user = sender.split(":", 2)[2]
            dm = await self.slack.turns.open_dm(self.client, user)
            if dm:
                shown = f"*{escape(name)}:* {escape(text)}" if name and author == "agent" else escape(text)
                await self.slack.outbox.post(self.client, dm, text=shown)
            return
        log.warning("handoff %s: no way to reach %s", live.number, sender)

    async def from_rep(self, client: AsyncWebClient, live: Live, rep: str, raw: str, bot_user: str | None) -> None:
        channel = live.post_channel or ""
        if live.status == "closed":
            await self.slack.outbox.ephemeral(client, channel, rep, CLOSED_ALREADY, live.post_ts)
            return
        if live.status != "claimed":
            await self.slack.outbox.ephemeral(client, channel, rep, NOT_CLAIMED, live.post_ts)
            return
        if rep != live.claimed_by:
            return  # a colleague's note in the thread: not for the customer
        text = from_slack(raw, bot_user)
        if CLOSE_WORDS.match(text):
            await self.close(client, live, rep, None)
        elif text.strip():
            await self.to_customer(live, text.strip(), live.claimed_name)

    async def from_customer(self, sender: str, text: str) -> bool:
        """True when the conversation is with a person: the text went to the thread, not the bot."""
        live = await self.store.live_for(sender)
        if live is None:
            return False
        text = redact(text)[0].replace("CARDNUMBER", "•••• (card number removed)")  # never into a channel
        if self.client is not None and live.post_channel and live.post_ts:
            await self.slack.outbox.post(self.client, live.post_channel, text=f"*Customer:* {escape(text)}",
                                         thread_ts=live.post_ts)
        return True

    # -- callbacks --------------------------------------------------------------------------------------

    async def callback(self, body: dict[str, Any]) -> bool:
        """A saved callback request, posted to its queue's channel (in the handoff's thread too)."""
        queue = self.queues.get(str(body.get("queue") or ""))
        number, phone = str(body.get("number") or "")[:40], str(body.get("phone") or "")[:40]
        if queue is None or not number or not phone:
            raise ValueError("queue (sales or support), number and phone are required")
        if not queue.channel or self.client is None:
            return False
        text = (f":telephone_receiver: Callback {escape(number)} for {escape(str(body.get('name') or 'a customer')[:200])}: "
                f"call {escape(phone)} on {escape(str(body.get('window') or '')[:100])} "
                f"({escape(str(body.get('timezone') or '')[:60])}), from {escape(str(body.get('channel') or '')[:20])}")
        live = await self.store.get(str(body["handoff"])) if body.get("handoff") else None
        if live is not None and live.post_ts and live.post_channel == queue.channel \
                and live.sender == body.get("conversation_id"):
            text += f", about handoff {escape(live.number)}"
            await self.slack.outbox.post(self.client, queue.channel, text=text + ".", thread_ts=live.post_ts)
        return await self.slack.outbox.post(self.client, queue.channel, text=text + ".") is not None

    # -- nobody claims -----------------------------------------------------------------------------------

    async def watch_once(self) -> None:
        now = self.clock()
        after = timedelta(minutes=self.gw.settings.handoff_realert_minutes)
        for live in await self.store.waiting():
            age = now - live.created_at
            queue = self.queues.get(live.queue)
            if queue is None or self.client is None:
                continue
            if live.alerted_at is None and age >= after and live.post_ts:
                if await self.store.alerted(live.number, now):
                    await self.slack.outbox.post(
                        self.client, live.post_channel, thread_ts=live.post_ts,
                        text=f"<!here> {queue.title} handoff {live.number} is still unclaimed after "
                             f"{int(age.total_seconds() // 60)} minutes.")
            if live.escalated_at is None and age >= 2 * after:
                if await self.store.escalated(live.number, now):
                    await self.to_customer(live, UNCLAIMED.format(queue=queue.title, phone=self.gw.settings.handoff_phone,
                                                                  hours=queue.hours_label()), None, author="bot")

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            with contextlib.suppress(Exception):
                await self.watch_once()
