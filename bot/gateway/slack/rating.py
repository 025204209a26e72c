"""Slack's side of ratings (the rules are bot/gateway/ratings.py's, shared with the widget).

- **The offer**: after a turn that completed a task (Rasa's ``task_done`` marker, ``completed_task``)
  and after a rep closes a handoff, "Did that help?" with Helpful / Not helpful buttons is posted
  where the turn's replies went (the DM, or the channel thread). Its actions block is
  ``rating:<user>`` (whose offer it is) and each button's value is the offer's id.
- **A tap** (``clicks.py`` acks it and hands it here): only the user it was offered to may answer
  it (a colleague in a shared channel is told so, privately); the offer's id is checked against the
  tapper's own conversation by ``Ratings.rate``, so a forged or stale id, a double tap or a value
  never offered changes nothing and gets a private (ephemeral) answer saying so. Slack's
  redelivery of the very same interaction (same message, same ``action_ts``) is dropped silently
  (durable dedupe). A tap that counted replaces the offer's buttons (chat.update) with what was
  chosen and the answer, so it cannot be pressed again: "Thanks", or after Not helpful the
  request for a comment with a *Skip* button.
- **The comment**: after Not helpful the user's next typed message in that conversation (a DM,
  a mention, ``/account``) is stored as the comment (card numbers removed, length capped: the
  rules of ratings.py) and answered here; it never reaches Rasa. A button ends the wait.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from .. import ratings as texts
from ..app import Gateway
from ..rasa import BotMessage
from . import blocks
from .identity import Directory
from .outbox import Outbox

if TYPE_CHECKING:
    from .turns import Turn

log = logging.getLogger(__name__)

ACTION = "rating_{}"
ACTION_PATTERN = re.compile(r"^rating_[a-z_]{1,20}$")  # unknown values too: Ratings.rate refuses them clearly
BLOCK_PREFIX = "rating"
TYPED = ("message", "mention", "command")  # a turn's sources that are text the user typed
LABELS = {"helpful": "👍 Helpful", "not_helpful": "👎 Not helpful", texts.SKIP: "Skip"}
NOT_YOURS = "That rating was for <@{owner}>, so I left it alone."


def block_id(user: str) -> str:
    return f"{BLOCK_PREFIX}:{user}"


def owner_of(block: str | None) -> str | None:
    prefix, _, user = (block or "").partition(":")
    return user or None if prefix == BLOCK_PREFIX else None


def _buttons(offer: str, user: str, values: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": block_id(user),
        "elements": [
            {
                "type": "button",
                "action_id": ACTION.format(value),
                "text": blocks.plain(LABELS[value], 75),
                "value": offer,
            }
            for value in values
        ],
    }


def offer_message(offer: str, user: str) -> BotMessage:
    """The offer as a message for ``Turns._reply``: never private itself, it follows the task's replies."""
    return {
        "text": texts.OFFER,
        "custom": {
            "private": False,
            "blocks": [*blocks.section(texts.OFFER), _buttons(offer, user, tuple(texts.VALUES))],
        },
    }


def answered(value: str, user: str, answer: str, offer: str) -> list[dict[str, Any]]:
    """The offer after a tap: what was chosen and the answer; after Not helpful, *Skip*."""
    chosen = "no comment" if value == texts.SKIP else LABELS[value]
    shown = [
        *blocks.section(texts.OFFER),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<@{user}> chose *{blocks.escape(chosen)}*"}]},
        *blocks.section(answer.replace("*Skip*", "Skip") if value == texts.SKIP else answer),
    ]
    if value == "not_helpful":
        shown.append(_buttons(offer, user, (texts.SKIP,)))
    return shown


class SlackRatings:
    def __init__(
        self,
        gw: Gateway,
        outbox: Outbox,
        directory: Directory,
        open_dm: Callable[[AsyncWebClient, str], Awaitable[str | None]],
    ) -> None:
        self.gw, self.outbox, self.directory, self.open_dm = gw, outbox, directory, open_dm

    async def offer(self, sender: str, task: str, user: str, *, team: str, customer: str | None) -> BotMessage | None:
        """The offer for this conversation, unless it had one this session (or ratings fail: a
        rating is never worth failing the customer's turn for)."""
        try:
            offer = await self.gw.ratings.offer(sender, "slack", task, customer=customer, team=team)
        except Exception:
            log.exception("slack: could not offer a rating to %s", sender)
            return None
        return offer_message(offer, user) if offer else None

    async def offer_in_dm(self, client: AsyncWebClient, dm: str, team: str, user: str, task: str) -> bool:
        """An offer outside a turn (a rep closed the handoff), posted in the user's DM."""
        who = await self.directory.user(client, team, user)
        message = await self.offer(f"slack:{team}:{user}", task, user, team=team, customer=who.email)
        if message is None:
            return False
        rendered = blocks.message_blocks(message, for_user=user)
        return await self.outbox.post(client, dm, text=texts.OFFER, blocks=rendered) is not None

    async def divert(self, turn: Turn) -> bool:
        """A ``Turns`` diverter: while a comment is awaited, the next typed message is the comment,
        answered here, not sent to Rasa. Any message passes an open offer by (dismissed)."""
        outcome, answer = await self.gw.ratings.before_turn(turn.sender, turn.text, typed=turn.source in TYPED)
        if outcome == "pass" or answer is None:
            return False
        channel = turn.channel or await self.open_dm(turn.client, turn.user)  # /account: its DM
        if channel:
            await self.outbox.post(turn.client, channel, text=answer.text, thread_ts=turn.thread_ts)
        return True

    async def tap(self, client: AsyncWebClient, body: dict[str, Any], team: str) -> None:
        """One rating button pressed (acked already)."""
        action, user, channel, message, ts = blocks.pressed(body)
        if not (user and channel and ts):
            return
        thread = message.get("thread_ts")
        owner = owner_of(action.get("block_id"))
        if owner != user:
            # Another person's offer (or a block that is no offer of ours): theirs to answer.
            text = NOT_YOURS.format(owner=owner) if owner else texts.NOT_OFFERED
            await self.outbox.ephemeral(client, channel, user, text, thread)
            return
        if not await self.gw.state.first_time(f"slack:rating:{channel}:{ts}:{action.get('action_ts')}"):
            log.info("slack: a redelivered rating tap on %s:%s ignored", channel, ts)
            return
        value = str(action.get("action_id") or "").removeprefix("rating_")
        offer = action.get("value")
        answer = await self.gw.ratings.rate(f"slack:{team}:{user}", offer, value)
        if not answer.ok or answer.value is None or not isinstance(offer, str):
            await self.outbox.ephemeral(client, channel, user, answer.text, thread)
            return
        await self.outbox.update(
            client,
            channel,
            ts,
            text=f"{texts.OFFER} ({LABELS[answer.value]})",
            blocks=answered(answer.value, user, answer.text, offer),
        )
