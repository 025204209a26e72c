"""The slash command: ``/account add 5 licenses`` starts (or continues) the user's conversation
in their DM with the app; the place where it was typed only gets a private "see our DM" note.
``/account`` alone says hello there."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from . import blocks
from .turns import Turn, Turns

COMMAND = "/account"
ACKED = "On it: I'll answer in our direct messages (Apps > Account Assistant), where account details stay private."


def register(app: AsyncApp, turns: Turns, command: str = COMMAND) -> None:
    async def on_command(
        ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack(text=ACKED, response_type="ephemeral")
        user = command.get("user_id")
        if not user:  # Slack always says who typed it; without that there is nobody to answer
            return
        text = blocks.from_slack(str(command.get("text") or ""))
        team = str(context.team_id or command.get("team_id") or context.enterprise_id or "")
        keys = (f"slack:command:{command['trigger_id']}",) if command.get("trigger_id") else ()
        turns.submit(
            Turn(
                client=client,
                team=team,
                user=str(user),
                text=text or "hi",
                channel=None,
                echo=f"{command.get('command') or COMMAND} {text}".strip(),
                source="command",
                keys=keys,
            )
        )

    app.command(command)(on_command)
