"""The live bridge between a customer (widget or Slack DM) and a rep in the queue's Slack thread.

- ``opened``: the action server tells the gateway about a new billing handoff; the summary goes to
  the queue's channel with a Claim button; the answer says whether the queue is open now.
- ``claim``: the first click wins (``HandoffStore.claim``), the summary shows who has it, the
  customer is told "NAME from Sales joined".
- ``from_rep`` / ``from_customer``: thread replies reach the customer under the rep's name (links to
  http(s), mailto: and tel: stay links); the customer's messages (typed, or an old bot button
  pressed: its title) go to the thread instead of to the bot while the handoff is claimed. Both
  ways the text is cleaned (``bot.nlu.text_hygiene``) first.
- ``close``: the Close button or "close" in the thread; the bot has the conversation again and says so.
- ``watch``: unclaimed handoffs are re-alerted, then the customer is offered the phone and a callback.

Rasa's side (``tracker.py``): the claim pauses the Rasa conversation, both sides' messages are
recorded in it while a person has it, and the close resumes it. Slack's side (``slack_access.py``):
the Web API client for each team and the reps' names, which ``Bridge`` inherits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

from slack_sdk.web.async_client import AsyncWebClient

from bot.billing_client import BillingError
from bot.billing_client.errors import NotFound
from bot.nlu.cards import REMOVED, TOKEN, redact, redact_shown
from bot.nlu.text_hygiene import clean

from ..app import Gateway
from ..slack.blocks import escape, from_slack, to_mrkdwn
from .queues import Queue
from .slack_access import SlackAccess
from .store import HandoffStore, Live
from .summary import Notice, claimed_blocks, closed_blocks, summary_blocks
from .tracker import HandoffTracker

log = logging.getLogger(__name__)

CLOSE_WORDS = re.compile(r"^\s*[!/]?(close|done|end|resolve[d]?)\s*\.?\s*$", re.IGNORECASE)
WATCH_EVERY_S = 15.0
JOINED = "{name} joined the chat. You're talking to a person now."
BACK = "{name} has left the chat. You're back with the assistant: ask me anything."
UNCLAIMED = (
    "Nobody from {queue} could pick this up yet, sorry. Call us on {phone} ({hours}), or say "
    '"call me back" and tell me when suits you.'
)
ALREADY = "Already claimed by <@{rep}>."
NOT_CLAIMED = "Claim the handoff first: thread replies reach the customer once it's claimed."
CLOSED_ALREADY = "This handoff is closed; the customer is back with the assistant."
PRESSED = "*Customer* (pressed a button): {text}"
SAID = "*Customer:* {text}"


class UnknownHandoff(LookupError):
    pass


class Opened(TypedDict):
    """The answer to the action server's notice of a new handoff (POST /handoff/internal/opened)."""

    queue: str
    open: bool  # whether a person is expected to answer now
    hours: str  # the queue's hours, as the customer is told them
    phone: str
    posted: bool  # the summary is in the queue's Slack channel


class Bridge(SlackAccess):
    def __init__(self, gw: Gateway, queues: dict[str, Queue], store: HandoffStore, tracker: HandoffTracker) -> None:
        super().__init__(gw)
        self.queues = queues
        self.store = store
        self.tracker = tracker
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def queue_channels(self) -> set[str]:
        return {q.channel for q in self.queues.values() if q.channel}

    # -- a new handoff -------------------------------------------------------------------------------

    async def opened(self, notice: Notice) -> Opened:
        queue = self.queues.get(notice.queue)
        if queue is None:
            raise ValueError("queue: sales or support")
        await self._check_with_billing(notice)
        open_now = queue.is_open(self.clock())
        answer: Opened = {
            "queue": queue.name,
            "open": open_now,
            "hours": queue.hours_label(),
            "phone": self.gw.settings.handoff_phone,
            "posted": False,
        }
        if not await self.store.add(notice.number, queue.name, notice.conversation_id, self.clock()):
            live = await self.store.get(notice.number)
            return {**answer, "posted": bool(live and live.post_ts)}  # the same notice again
        client = await self.queue_client() if queue.channel else None
        if queue.channel and client is not None:
            ts = await self.outbox.post(
                client,
                queue.channel,
                text=f"{queue.title} handoff {notice.number}: {notice.reason}",
                blocks=summary_blocks(notice, queue.title, open_now=open_now, hours=queue.hours_label()),
            )
            if ts:
                await self.store.posted(notice.number, queue.channel, ts)
                answer["posted"] = True
        elif not queue.channel:
            log.warning(
                "handoff %s: queue %s has no Slack channel (HANDOFF_%s_CHANNEL)",
                notice.number,
                queue.name,
                queue.name.upper(),
            )
        return answer

    async def _check_with_billing(self, notice: Notice) -> None:
        """The record must exist in billing for that conversation (the token alone is not enough to
        post a customer's words to a channel). Billing down: the notice is trusted (token-checked)."""
        billing = self.gw.billing
        try:
            acting = (
                billing.as_user(notice.email, channel="api")
                if notice.email and "@" in notice.email
                else billing.as_visitor(channel="api")
            )
            await acting.handoff(notice.number, conversation_id=notice.conversation_id)
        except NotFound:
            raise UnknownHandoff(notice.number) from None
        except BillingError as error:
            log.warning("handoff %s: billing unavailable to check it (%s); posting anyway", notice.number, error)

    # -- claim and close -----------------------------------------------------------------------------

    async def claim(
        self, client: AsyncWebClient, number: str, rep: str, channel: str, ts: str, blocks: list[dict[str, Any]]
    ) -> bool:
        name = await self.rep_name(client, rep)
        live = await self.store.get(number)
        if live is None:
            return False
        queue = self.queues[live.queue]
        claimed_name = f"{name} from {queue.title}"
        if not await self.store.claim(number, rep, claimed_name, self.clock()):
            now = await self.store.get(number)
            text = ALREADY.format(rep=now.claimed_by) if now and now.claimed_by else CLOSED_ALREADY
            await self.outbox.ephemeral(client, channel, rep, text)
            return False
        await self.outbox.update(
            client,
            channel,
            ts,
            text=f"{queue.title} handoff {number}: claimed by {name}",
            blocks=claimed_blocks(blocks, number, rep),
        )
        # the row as the claim's conditional UPDATE left it
        live = replace(live, status="claimed", claimed_by=rep, claimed_name=claimed_name)
        joined = JOINED.format(name=live.claimed_name)
        self.tracker.pause(live.sender, number)  # first: Rasa answers nothing from here on
        self.tracker.rep(live.sender, joined, number, rep, live.claimed_name)  # queued: never waited for
        await self.to_customer(live, joined, live.claimed_name, author="agent")
        return True

    async def close(self, client: AsyncWebClient, live: Live, rep: str, blocks: list[dict[str, Any]] | None) -> bool:
        if not await self.store.close(live.number, self.clock()):
            return False
        if live.post_channel and live.post_ts:
            base = blocks or [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"*{self.queues[live.queue].title} handoff {live.number}*"},
                }
            ]
            await self.outbox.update(
                client,
                live.post_channel,
                live.post_ts,
                text=f"Handoff {live.number}: closed",
                blocks=closed_blocks(base, rep),
            )
        back = BACK.format(name=live.claimed_name or "Our team")
        await self.tracker.resume(live.sender, live.number, back)  # before "you're back": it must be true
        await self.to_customer(live, back, None, author="bot")
        await self.offer_rating(live)
        return True

    async def offer_rating(self, live: Live) -> None:
        """After the close, the customer may rate the help they had, where they are (ratings.py:
        task ``handoff_closed``, at most one offer a session). Never in the way of the close itself."""
        sender = live.sender
        try:
            if sender.startswith(("wv-", "wu-")) and self.gw.widget is not None:
                # No email here: the widget's conversation id is a hash of it (widget/identity.py).
                await self.gw.widget.offer_rating(sender, "handoff_closed")
            elif sender.startswith("slack:") and self.slack is not None:
                _, team, user = sender.split(":", 2)
                client = await self.client_for(team)
                if client is not None and (dm := await self.slack.turns.open_dm(client, user)):
                    await self.slack.ratings.offer_in_dm(client, dm, team, user, "handoff_closed")
        except Exception:
            log.exception("handoff %s: could not offer a rating", live.number)

    # -- messages both ways ------------------------------------------------------------------------------

    async def to_customer(self, live: Live, text: str, name: str | None, *, author: str = "agent") -> None:
        sender = live.sender
        if sender.startswith(("wv-", "wu-")):
            if self.gw.widget is not None:
                await self.gw.widget.push(sender, text, author=author, name=name)
            return
        if sender.startswith("slack:") and self.slack is not None:
            _, team, user = sender.split(":", 2)
            client = await self.client_for(team)
            if client is not None and (dm := await self.slack.turns.open_dm(client, user)):
                # to_mrkdwn: the rep's links ([label](url), from from_rep) are Slack links again
                shown = f"*{escape(name)}:* {to_mrkdwn(text)}" if name and author == "agent" else to_mrkdwn(text)
                await self.outbox.post(client, dm, text=shown)
            return
        log.warning("handoff %s: no way to reach %s", live.number, sender)

    async def from_rep(self, client: AsyncWebClient, live: Live, rep: str, raw: str, bot_user: str | None) -> None:
        channel = live.post_channel or ""
        if live.status == "closed":
            await self.outbox.ephemeral(client, channel, rep, CLOSED_ALREADY, live.post_ts)
            return
        if live.status != "claimed":
            await self.outbox.ephemeral(client, channel, rep, NOT_CLAIMED, live.post_ts)
            return
        if rep != live.claimed_by:
            return  # a colleague's note in the thread: not for the customer
        # Cleaned, with the rep's links to safe places kept as [label](url): the widget and Slack
        # (to_customer) show them as links; other schemes show as text. A rep's paste is stored
        # (Rasa, the widget) too: card numbers removed.
        text = redact_shown(from_slack(raw, bot_user, links=True))[0]
        if CLOSE_WORDS.match(text):
            await self.close(client, live, rep, None)
        elif text.strip():
            self.tracker.rep(live.sender, text.strip(), live.number, rep, live.claimed_name)
            await self.to_customer(live, text.strip(), live.claimed_name)

    async def from_customer(self, sender: str, text: str, *, label: str | None = None) -> bool:
        """True when the conversation is with a person: the text went to the thread (and into Rasa's
        record of the paused conversation), not to the bot. ``text`` may be a button's payload (an old
        bot button pressed during the handoff): the rep gets its title (``label``, or the widget's
        button with that payload) and nothing the button would have done happens."""
        live = await self.store.live_for(sender)
        if live is None:
            return False
        text, label = clean(text), clean(label) if label is not None else None
        if not text and not label:
            return True  # nothing readable: taken from the bot, nothing for the rep
        pressed = label is not None or text.startswith("/")
        if pressed and label is None:
            label = await self._button_title(sender, text)
        said = redact(label or text)[0]
        self.tracker.customer(sender, said, live.number, "slack" if sender.startswith("slack:") else "widget")
        shown = said.replace(TOKEN, REMOVED)  # never into a channel
        client = await self.queue_client() if live.post_channel and live.post_ts else None
        if client is not None and live.post_channel:
            await self.outbox.post(
                client,
                live.post_channel,
                text=(PRESSED if pressed else SAID).format(text=escape(shown)),
                thread_ts=live.post_ts,
            )
        return True

    async def _button_title(self, sender: str, payload: str) -> str:
        """The title of the widget button with this payload (the newest the bot showed), else the
        payload's intent in words ("/talk_to_human" -> "talk to human")."""
        hub = self.gw.widget
        if hub is not None and sender.startswith(("wv-", "wu-")):
            try:
                rows = await hub.history.after(sender, 0)
            except Exception:
                rows = []
            for row in reversed(rows):
                for button in (row.body.get("buttons") or []) if row.author == "bot" else []:
                    if isinstance(button, dict) and button.get("payload") == payload and button.get("title"):
                        return str(button["title"])
        return re.split(r"[{\[]", payload.lstrip("/"), maxsplit=1)[0].replace("_", " ").strip() or payload

    # -- callbacks --------------------------------------------------------------------------------------

    async def callback(self, body: dict[str, Any]) -> bool:
        """A saved callback request, posted to its queue's channel (in the handoff's thread too)."""
        queue = self.queues.get(str(body.get("queue") or ""))
        number, phone = str(body.get("number") or "")[:40], str(body.get("phone") or "")[:40]
        if queue is None or not number or not phone:
            raise ValueError("queue (sales or support), number and phone are required")
        client = await self.queue_client() if queue.channel else None
        if client is None:
            return False
        text = (
            f":telephone_receiver: Callback {escape(number)} "
            f"for {escape(str(body.get('name') or 'a customer')[:200])}: "
            f"call {escape(phone)} on {escape(str(body.get('window') or '')[:100])} "
            f"({escape(str(body.get('timezone') or '')[:60])}), from {escape(str(body.get('channel') or '')[:20])}"
        )
        live = await self.store.get(str(body["handoff"])) if body.get("handoff") else None
        if (
            live is not None
            and live.post_ts
            and live.post_channel == queue.channel
            and live.sender == body.get("conversation_id")
        ):
            text += f", about handoff {escape(live.number)}"
            await self.outbox.post(client, queue.channel, text=text + ".", thread_ts=live.post_ts)
        return await self.outbox.post(client, queue.channel, text=text + ".") is not None

    # -- nobody claims -----------------------------------------------------------------------------------

    async def watch_once(self) -> None:
        now = self.clock()
        after = timedelta(minutes=self.gw.settings.handoff_realert_minutes)
        waiting = await self.store.waiting()
        client = await self.queue_client() if waiting else None
        for live in waiting:
            age = now - live.created_at
            queue = self.queues.get(live.queue)
            if queue is None or client is None:
                continue
            if live.alerted_at is None and age >= after and live.post_channel and live.post_ts:
                if await self.store.alerted(live.number, now):
                    await self.outbox.post(
                        client,
                        live.post_channel,
                        thread_ts=live.post_ts,
                        text=f"<!here> {queue.title} handoff {live.number} is still unclaimed after "
                        f"{int(age.total_seconds() // 60)} minutes.",
                    )
            if live.escalated_at is None and age >= 2 * after:
                if await self.store.escalated(live.number, now):
                    await self.to_customer(
                        live,
                        UNCLAIMED.format(
                            queue=queue.title, phone=self.gw.settings.handoff_phone, hours=queue.hours_label()
                        ),
                        None,
                        author="bot",
                    )

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            with contextlib.suppress(Exception):
                await self.watch_once()
