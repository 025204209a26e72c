"""Button clicks (interactivity).

A click on one of the assistant's buttons is acked at once. The first click on a message wins
(``GatewayState.first_time`` on the message: a double click, or "No" after "Yes", does nothing);
the message is replaced by itself without buttons plus what was chosen, and the button's payload
goes to Rasa as the same user, in the same place. Buttons posted for one person are theirs: a
colleague clicking them in a channel thread is told to ask for themselves.

App Home buttons start the conversation in the user's DM. Rating buttons (``rating_*``) are the
gateway's own, never a message for Rasa: rating.py answers them.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.nlu.text_hygiene import clean

from ..app import Gateway
from . import blocks
from .outbox import Outbox
from .rating import ACTION_PATTERN as RATING_ACTION
from .rating import SlackRatings
from .turns import Turn, Turns

log = logging.getLogger(__name__)

HOME_ACTION = re.compile(r"^home_[a-z_]+$")
HOME_DOUBLE_CLICK_S = 5  # two clicks on the same Home button this close together count once
NOT_YOURS = "These buttons were for <@{owner}>. Mention me and ask, and I'll answer you."


def _team(body: dict[str, Any], context: AsyncBoltContext) -> str:
    return str(
        context.team_id
        or (body.get("team") or {}).get("id")
        or (body.get("user") or {}).get("team_id")
        or context.enterprise_id
        or ""
    )


def _seconds(action_ts: Any) -> float:
    """A click's action_ts ("1700000000.123456"); now if it is missing or no number."""
    try:
        seconds = float(action_ts)
    except (TypeError, ValueError):
        return time.time()
    return seconds if math.isfinite(seconds) else time.time()


def register(app: AsyncApp, gw: Gateway, turns: Turns, outbox: Outbox, ratings: SlackRatings) -> None:
    async def on_button(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        await ack()
        action, user, channel, message, ts = blocks.pressed(body)
        payload = clean(str(action.get("value") or ""))  # nothing readable: no click at all
        if not (user and channel and ts and payload):
            return
        owner = blocks.button_owner(action.get("block_id"))
        if owner and owner != user:
            await outbox.ephemeral(client, channel, user, NOT_YOURS.format(owner=owner), message.get("thread_ts"))
            return
        if not await gw.state.first_time(f"slack:click:{channel}:{ts}"):
            log.info("slack: second click on %s:%s ignored", channel, ts)
            return
        chosen = str((action.get("text") or {}).get("text") or payload)
        await outbox.update(
            client,
            channel,
            ts,
            text=f"{blocks.fallback_text(message)} ({chosen})",
            blocks=blocks.answered_blocks(message.get("blocks") or [], chosen, user),
        )
        turns.submit(
            Turn(
                client=client,
                team=_team(body, context),
                user=user,
                text=payload,
                channel=channel,
                is_dm=str(channel).startswith("D"),
                thread_ts=message.get("thread_ts"),
                message_ts=ts,
                source="click",
                label=chosen,
            )
        )

    async def on_home_button(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id")
        payload = clean(str(action.get("value") or ""))
        if not user or not payload:
            return
        team = _team(body, context)
        moment = int(_seconds(action.get("action_ts")) // HOME_DOUBLE_CLICK_S)
        title = str((action.get("text") or {}).get("text") or payload)
        turns.submit(
            Turn(
                client=client,
                team=team,
                user=user,
                text=payload,
                channel=None,
                echo=title,
                label=title,
                source="home",
                keys=(f"slack:home:{team}:{user}:{action.get('action_id')}:{moment}",),
            )
        )

    async def on_rating(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        await ack()
        await ratings.tap(client, body, _team(body, context))

    app.action(blocks.BUTTON_ACTION_PATTERN)(on_button)
    app.action(RATING_ACTION)(on_rating)
    app.action(HOME_ACTION)(on_home_button)
