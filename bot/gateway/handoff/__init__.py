"""Human handoff: sales reps and support agents answer customers from Slack.

    queues.py        per queue (sales, support): Slack channel id, business hours, time zone, holidays
    store.py         live handoffs in the gateway database; the claim lock (first click wins)
    summary.py       the Block Kit summary with Claim, then Close
    bridge.py        channel post, claim, the relay both ways, close, re-alert and escalation
    slack_access.py  the bridge's Slack side: a Web API client per team, the reps' names
    tracker.py       Rasa's side: the conversation paused on claim, both sides recorded, resumed on close

How the gateway hears of a handoff: the action server, right after billing created the record,
POSTs it here (``/handoff/internal/opened``, Bearer GATEWAY_TOKEN). The gateway checks the record
with billing, posts the summary, and answers whether the queue is open now, so the bot's reply to
the customer can already say "out of hours: call ... or leave a callback".

    POST /handoff/internal/opened   Authorization: Bearer $GATEWAY_TOKEN
    {"number": "H-1001", "conversation_id": "wv-...", "queue": "sales", "reason": "...", "intent": "...",
     "org": "...", "edition": "...", "page_url": "...", "channel": "widget", "lead": {...},
     "transcript": [{"from": "user", "text": "..."}]}
    -> 200 {"queue": "sales", "open": true, "hours": "Mon–Fri 9 am–5 pm (America/New_York)",
            "phone": "1-800-667-6389", "posted": true}
       401 without the token; 404 no such handoff for that conversation; 422 bad input

    POST /handoff/internal/callback  (same token): a saved callback request, posted to the queue
    {"number": "CB-1", "queue": "sales", "name": "...", "phone": "+1...", "window": "Mon Nov 30, 9–12 am",
     "timezone": "America/New_York", "handoff": "HO-1"?, "conversation_id": "...", "channel": "slack"}

While a handoff is claimed the customer's messages (typed, or an old bot button pressed) go to the
thread and not to the bot: Rasa's conversation is paused and records them, and the rep's replies,
through Rasa's HTTP API (RASA_API_URL, RASA_API_TOKEN); the widget's history and the Slack thread
keep them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from ..app import Gateway
from ..rasa import NO_TEXT
from ..slack.blocks import from_slack
from ..slack.events import team_of
from ..slack.turns import Turn
from .bridge import Bridge, UnknownHandoff
from .queues import Queue, queues_from
from .slack_access import SlackSide
from .store import HandoffStore
from .summary import CLAIM_ACTION, CLOSE_ACTION, Notice
from .tracker import HandoffTracker

log = logging.getLogger(__name__)

__all__ = ["Bridge", "Queue", "mount"]


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def register_slack(bridge: Bridge, slack: SlackSide) -> None:
    """Claim and Close buttons; thread replies in the queue channels; a Slack customer's DMs while
    a rep has their conversation (these run before the assistant's own message handling)."""
    gw, app = bridge.gw, slack.app

    def where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None, dict[str, Any]]:
        message = body.get("message") or {}
        container = body.get("container") or {}
        return (
            (body.get("user") or {}).get("id"),
            (body.get("channel") or {}).get("id") or container.get("channel_id"),
            message.get("ts") or container.get("message_ts"),
            message,
        )

    async def on_claim(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        rep, channel, ts, message = where(body)
        number = str(((body.get("actions") or [{}])[0]).get("value") or "")
        if rep and channel and ts and number:
            await bridge.claim(client, number, rep, channel, ts, message.get("blocks") or [])

    async def on_close(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        rep, channel, ts, message = where(body)
        if not (rep and channel and ts):
            return
        live = await bridge.store.by_thread(channel, ts)
        if live is not None and not await bridge.close(client, live, rep, message.get("blocks") or []):
            await slack.outbox.ephemeral(client, channel, rep, "This handoff is closed already.")

    async def divert(turn: Turn) -> bool:
        """Any other turn of a customer a rep is talking to (an old bot button clicked, an App Home
        button, the slash command, a mention; a DM claimed just after the tap looked): to the rep, a
        button by its title; never to the bot."""
        return await bridge.from_customer(turn.sender, turn.text, label=turn.label)

    async def tap(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> bool:
        """True when the message belonged to a handoff (the assistant leaves it alone)."""
        if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast", "file_share"):
            return False
        user, channel, ts = event.get("user"), str(event.get("channel") or ""), event.get("ts")
        if not user or not ts or user == context.bot_user_id:
            return False
        thread = event.get("thread_ts")
        if thread and thread != ts and channel in bridge.queue_channels():
            live = await bridge.store.by_thread(channel, thread)
            if live is None:
                return False
            if await gw.state.first_time(f"handoff:msg:{channel}:{ts}"):
                await bridge.from_rep(client, live, user, str(event.get("text") or ""), context.bot_user_id)
            return True
        is_dm = event.get("channel_type") == "im" or channel.startswith("D")
        if is_dm and event.get("type") == "message":
            sender = f"slack:{team_of(body, context)}:{user}"
            if await bridge.store.live_for(sender) is None:
                return False
            if await gw.state.first_time(f"handoff:msg:{channel}:{ts}"):
                said = from_slack(str(event.get("text") or ""), context.bot_user_id)
                if said:
                    await bridge.from_customer(sender, said)
                elif str(event.get("text") or "").strip() and not event.get("files"):
                    await slack.outbox.post(client, channel, text=NO_TEXT)  # as outside a handoff
            return True
        return False

    app.action(CLAIM_ACTION)(on_claim)
    app.action(CLOSE_ACTION)(on_close)
    slack.taps.append(tap)
    slack.turns.diverters.append(divert)


def mount(app: FastAPI, gw: Gateway) -> Bridge:
    s = gw.settings
    bridge = Bridge(
        gw,
        queues_from(s),
        HandoffStore(gw.state.engine),
        HandoffTracker(s.rasa_api_url, s.rasa_api_token, timeout=s.rasa_api_timeout_s),
    )
    app.state.handoff = bridge
    slack = getattr(app.state, "slack", None)
    if slack is not None:
        bridge.slack = slack
        register_slack(bridge, slack)
    if gw.widget is not None:
        gw.widget.diverters.append(bridge.from_customer)

    @app.post("/handoff/internal/opened", include_in_schema=False)
    async def opened(request: Request) -> Response:
        if not _authorized(request, gw.settings.gateway_token):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            notice = Notice.from_json(await request.json())
            return JSONResponse(await bridge.opened(notice))
        except UnknownHandoff:
            return JSONResponse({"error": "no such handoff for that conversation"}, status_code=404)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=422)

    @app.post("/handoff/internal/callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        if not _authorized(request, gw.settings.gateway_token):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("a JSON object")
            return JSONResponse({"posted": await bridge.callback(body)})
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=422)

    watcher: dict[str, asyncio.Task[None]] = {}

    async def start() -> None:
        watcher["task"] = asyncio.get_running_loop().create_task(bridge.watch(), name="handoff-watch")

    async def stop() -> None:
        if task := watcher.get("task"):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await bridge.tracker.aclose()

    gw.on_startup.append(start)
    gw.on_shutdown.append(stop)
    return bridge
