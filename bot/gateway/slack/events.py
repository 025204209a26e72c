"""Messages: DMs (``message.im``) and @mentions in channels (``app_mention``), answered in the
thread. Each listener only turns the event into a ``Turn`` and queues it; Slack has its ack.

What is ignored, on purpose:
- the app's own messages and other bots' (``bot_id``, subtype ``bot_message``): no bot loops;
- edits (``message_changed``) and deletes (``message_deleted``): the assistant answers what was
  sent; an edit is not a new request (re-answering it could repeat an order), and Slack also
  sends ``message_changed`` when it unfurls a link. Send a new message instead;
- joins, topic changes and other system subtypes;
- channel messages that do not mention the app (only mentions are for the assistant).

A file share gets "I can't read files" (and the message's text, if any, is answered). A DM with
nothing readable in it (invisible characters only) gets ``NO_TEXT`` and does not reach Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from . import blocks
from .turns import Turn, Turns

log = logging.getLogger(__name__)

# (body, event, context, client) -> True when the message was taken (e.g. by a live handoff)
Tap = Callable[[dict[str, Any], dict[str, Any], AsyncBoltContext, AsyncWebClient], Awaitable[bool]]

IGNORED_SUBTYPES = {
    "message_changed",
    "message_deleted",
    "bot_message",
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "group_join",
    "group_leave",
    "pinned_item",
    "unpinned_item",
    "ekm_access_denied",
    "assistant_app_thread",
}
ANSWERED_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}


def team_of(body: dict[str, Any], context: AsyncBoltContext) -> str:
    return str(context.team_id or body.get("team_id") or context.enterprise_id or "")


def dedupe_keys(body: dict[str, Any], event: dict[str, Any]) -> tuple[str, ...]:
    """The event's id (Slack retries) and the post's channel + ts (message + app_mention pair)."""
    keys = []
    if body.get("event_id"):
        keys.append(f"slack:event:{body['event_id']}")
    if event.get("channel") and event.get("ts"):
        keys.append(f"slack:msg:{event['channel']}:{event['ts']}")
    return tuple(keys)


def message_turn(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> Turn | None:
    """The turn for a message or app_mention event, or None when it is not for the assistant."""
    subtype = event.get("subtype")
    if event.get("bot_id") or subtype in IGNORED_SUBTYPES or subtype not in ANSWERED_SUBTYPES:
        return None
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel or (context.bot_user_id and user == context.bot_user_id):
        return None
    raw = str(event.get("text") or "")
    is_dm = event.get("channel_type") == "im" or (event.get("type") == "message" and str(channel).startswith("D"))
    mentioned = bool(context.bot_user_id) and f"<@{context.bot_user_id}>" in raw
    if event.get("type") == "message" and not is_dm and not mentioned:
        return None
    files = bool(event.get("files")) or subtype == "file_share"
    text = blocks.from_slack(raw, context.bot_user_id)  # cleaned: invisible characters are gone
    if not text and not files:
        if event.get("type") == "app_mention":
            text = "hi"  # a bare mention (or one with nothing readable after it) says hello
        elif not is_dm or not raw.strip():
            return None
        # else: a DM of invisible characters only: the turn answers it with NO_TEXT
    # In a DM, answer at top level (or in the thread the user wrote in); in a channel, in the thread.
    thread = event.get("thread_ts") if is_dm else (event.get("thread_ts") or event.get("ts"))
    return Turn(
        client=client,
        team=team_of(body, context),
        user=str(user),
        text=text,
        channel=str(channel),
        is_dm=is_dm,
        thread_ts=thread,
        message_ts=event.get("ts"),
        keys=dedupe_keys(body, event),
        source="message" if is_dm else "mention",
        files=files,
    )


def register(app: AsyncApp, turns: Turns, taps: list[Tap] | None = None) -> None:
    taps = taps if taps is not None else []
    # One user's messages pass the taps (which may wait on the database) one at a time, in arrival
    # order, so a quick second message cannot be queued before the first.
    arriving: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def on_message(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        key = f"{body.get('team_id')}:{event.get('user')}"
        lock = arriving.get(key)
        if lock is None:
            lock = arriving[key] = asyncio.Lock()
        async with lock:
            for tap in taps:
                try:
                    if await tap(body, event, context, client):
                        return
                except Exception:
                    log.exception("slack: message tap failed")
            turn = message_turn(body, event, context, client)
            if turn is not None:
                turns.submit(turn)

    app.event("message")(on_message)
    app.event("app_mention")(on_message)
