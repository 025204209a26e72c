"""The slack-bolt ``AsyncApp`` and how Slack reaches it.

Modes, from the settings (bot/gateway/config.py, SLACK_*):
- one workspace: ``SLACK_BOT_TOKEN``;
- many workspaces: ``SLACK_CLIENT_ID`` + ``SLACK_CLIENT_SECRET`` (OAuth install at
  ``/slack/install``, Slack comes back to ``/slack/oauth_redirect``; installations and OAuth states
  in the gateway database);
and for either, events over HTTP (``/slack/events``, needs ``SLACK_SIGNING_SECRET``) and/or over
Socket Mode (``SLACK_APP_TOKEN``: the gateway dials out, no public URL needed).

HTTP requests are checked before bolt sees them: the signature (HMAC-SHA256 of
``v0:<timestamp>:<body>`` with the signing secret), a timestamp within 5 minutes, and a signature
never seen before (a replayed request is refused even inside the 5 minutes; ``ReplayGuard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from .. import metrics
from ..app import Gateway
from ..config import GatewaySettings
from . import clicks, command, events, home, shape
from .identity import Directory
from .install import InstallationStore, StateStore
from .linking import callbacks
from .outbox import Outbox
from .rating import SlackRatings
from .turns import Turns

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class ReplayGuard:
    """Signatures seen in the last five minutes (older requests fail the timestamp check anyway).

    In memory, so the ack path writes nothing: a replay sent to another gateway replica passes
    here but is still dropped by the durable dedupe of what it carries (event id, message, click,
    slash command trigger), so it never acts twice either way."""

    WINDOW_S = 5 * 60 + 30

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def first_time(self, signature: str) -> bool:
        now = time.monotonic()
        if len(self._seen) > 50_000:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self.WINDOW_S}
        seen = self._seen.get(signature)
        if seen is not None and now - seen < self.WINDOW_S:
            return False
        self._seen[signature] = now
        return True


class SlackConfigError(ValueError):
    """The SLACK_* settings are incomplete or contradictory (the message says how)."""


@dataclass(frozen=True)
class Mode:
    oauth: bool  # many workspaces (else: one bot token)
    http: bool  # /slack/events with a signing secret
    socket: bool  # Socket Mode with an app-level token


def mode_of(settings: GatewaySettings) -> Mode | None:
    """How Slack is connected, or None when no Slack setting is given (Slack stays off)."""
    s = settings
    given = [s.slack_bot_token, s.slack_signing_secret, s.slack_app_token, s.slack_client_id, s.slack_client_secret]
    if not any(given):
        return None
    oauth = bool(s.slack_client_id or s.slack_client_secret)
    if oauth and not (s.slack_client_id and s.slack_client_secret):
        raise SlackConfigError("Slack OAuth needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    if oauth and s.slack_bot_token:
        raise SlackConfigError(
            "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET "
            "(OAuth install, many workspaces), not both"
        )
    if not oauth and not s.slack_bot_token:
        raise SlackConfigError(
            "Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth install)"
        )
    if oauth and not s.slack_signing_secret:
        raise SlackConfigError("the OAuth install needs SLACK_SIGNING_SECRET")
    if not (s.slack_signing_secret or s.slack_app_token):
        raise SlackConfigError(
            "Slack events need SLACK_SIGNING_SECRET (HTTP Events API) or SLACK_APP_TOKEN (Socket Mode)"
        )
    return Mode(oauth=oauth, http=bool(s.slack_signing_secret), socket=bool(s.slack_app_token))


def web_client(settings: GatewaySettings, token: str | None = None) -> AsyncWebClient:
    """Slack's Web API with a timeout, and 429s retried after their Retry-After."""
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=max(1, math.ceil(settings.slack_api_timeout_s)),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=settings.slack_rate_limit_retries),
        ],
    )


@contextlib.contextmanager
def _without_env(*names: str) -> Iterator[None]:
    """Bolt turns on its own OAuth flow (file-based stores) whenever SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET are in the environment, even empty; our settings decide instead."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def bolt_app(gw: Gateway, mode: Mode, directory: Directory | None = None) -> AsyncApp:
    """``directory``: who installs the app (OAuth), to link the workspace to their billing org."""
    s = gw.settings
    client = web_client(s, None if mode.oauth else s.slack_bot_token)

    def new_app(oauth: AsyncOAuthSettings | None = None) -> AsyncApp:
        return AsyncApp(
            client=client,
            signing_secret=s.slack_signing_secret or None,
            oauth_settings=oauth,
            request_verification_enabled=mode.http,
            process_before_response=False,
        )

    if not mode.oauth:
        with _without_env("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
            app = new_app()  # the client carries the bot token

        async def uninstalled(event: dict[str, Any], body: dict[str, Any]) -> None:
            # Bolt answers events nobody listens to with a 404, and Slack retries those.
            log.warning("slack: %s for workspace %s; remove SLACK_BOT_TOKEN", event.get("type"), body.get("team_id"))

        app.event("app_uninstalled")(uninstalled)
        app.event("tokens_revoked")(uninstalled)
        return app
    engine = gw.state.engine
    oauth = AsyncOAuthSettings(
        client_id=s.slack_client_id,
        client_secret=s.slack_client_secret,
        scopes=[x.strip() for x in s.slack_scopes.split(",") if x.strip()],
        redirect_uri=s.gateway_public_url.rstrip("/") + REDIRECT_PATH,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=InstallationStore(s.slack_client_id, engine),
        state_store=StateStore(engine),
        callback_options=callbacks(gw.billing, directory or Directory(gw.billing), lambda token: web_client(s, token)),
    )
    app = new_app(oauth)
    app.enable_token_revocation_listeners()  # app_uninstalled / tokens_revoked: forget the tokens
    return app


class SlackChannel:
    """Everything the Slack channel holds: the bolt app, the turn queues, the posting queues."""

    def __init__(self, gw: Gateway, mode: Mode) -> None:
        self.gw, self.mode = gw, mode
        self.directory = Directory(gw.billing, ttl=gw.settings.slack_user_cache_s)
        self.app = bolt_app(gw, mode, self.directory)
        self.outbox = Outbox()
        self.turns = Turns(gw, self.directory, self.outbox)
        self.ratings = SlackRatings(gw, self.outbox, self.directory, self.turns.open_dm)
        self.turns.ratings = self.ratings
        # First: a comment awaited after "not helpful" is nobody else's (the handoff's comes later).
        self.turns.diverters.append(self.ratings.divert)
        self.handler = AsyncSlackRequestHandler(self.app)
        self.verifier = SignatureVerifier(gw.settings.slack_signing_secret) if mode.http else None
        self.socket: AsyncSocketModeHandler | None = None
        self.replays = ReplayGuard()
        # Message taps run before the assistant's handling and may take a message (the handoff bridge).
        self.taps: list[events.Tap] = []
        events.register(self.app, self.turns, self.taps)
        clicks.register(self.app, gw, self.turns, self.outbox, self.ratings)
        home.register(self.app, gw.billing, self.directory)
        command.register(self.app, self.turns)

    async def events(self, request: Request) -> Response:
        """``POST /slack/events``: events, interactivity and slash commands, all signed."""
        body = await request.body()
        signature = request.headers.get("x-slack-signature", "")
        try:
            valid = self.verifier is not None and self.verifier.is_valid_request(body, dict(request.headers))
        except (UnicodeDecodeError, ValueError):  # not UTF-8, or a timestamp that is no number
            valid = False
        if not valid:
            return Response("invalid signature or stale timestamp", status_code=401)
        if not self.replays.first_time(signature):
            log.warning("slack: a replayed request was refused")
            return Response("replayed request", status_code=401)
        if request.headers.get("x-slack-retry-num"):
            metrics.SLACK_RETRIES.labels(metrics.retry_reason(request.headers.get("x-slack-retry-reason"))).inc()
        if (malformed := shape.problem(body, request.headers.get("content-type"))) is not None:
            log.warning("slack: malformed request refused: %s", malformed)
            return Response("malformed request", status_code=400)
        try:
            return await self.handler.handle(request)
        except Exception as error:
            # Bolt parses the payload before any listener runs and assumes Slack's shapes (shape.py
            # refuses the ones we know of). Listeners run after the ack, so what is raised here is
            # about the request itself: refuse it instead of answering 500.
            log.warning("slack: malformed request refused (%s: %s)", type(error).__name__, str(error)[:200])
            return Response("malformed request", status_code=400)

    async def oauth(self, request: Request) -> Response:
        return await self.handler.handle(request)

    async def start(self) -> None:
        if self.mode.socket:
            self.socket = AsyncSocketModeHandler(
                self.app, self.gw.settings.slack_app_token, web_client=web_client(self.gw.settings)
            )
            # In the background: slack_sdk retries until Slack answers, and the gateway's other
            # channels (and /healthz) must not wait for that.
            self._connecting = asyncio.get_running_loop().create_task(self.socket.connect_async())

    async def stop(self) -> None:
        if self.socket is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
            await self.socket.close_async()
        await self.turns.drain()


def mount(app: FastAPI, gw: Gateway) -> SlackChannel | None:
    mode = mode_of(gw.settings)
    if mode is None:
        log.info("slack: no SLACK_* settings; the Slack channel is off")
        return None
    slack = SlackChannel(gw, mode)
    if mode.http:
        app.add_api_route(EVENTS_PATH, slack.events, methods=["POST"], include_in_schema=False)
    if mode.oauth:
        app.add_api_route(INSTALL_PATH, slack.oauth, methods=["GET"], include_in_schema=False)
        app.add_api_route(REDIRECT_PATH, slack.oauth, methods=["GET"], include_in_schema=False)
    gw.on_startup.append(slack.start)
    gw.on_shutdown.append(slack.stop)
    app.state.slack = slack
    log.info(
        "slack: on (%s, %s)",
        "OAuth install" if mode.oauth else "one workspace",
        " + ".join(x for x, on in (("HTTP events", mode.http), ("Socket Mode", mode.socket)) if on),
    )
    return slack
