"""What the handoff bridge needs of Slack: the Slack channel's parts it uses (``SlackSide``) and a
Web API client for each team, with the reps' first names.

Slack clients: with one workspace, the app's bot token; with many (OAuth), the installation's bot
token of the team concerned: ``HANDOFF_SLACK_TEAM`` for the queue channels, the customer's own team
for their DM.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from ..app import Gateway
from ..slack.events import Tap
from ..slack.outbox import Outbox
from ..slack.rating import SlackRatings
from ..slack.turns import Turn

if TYPE_CHECKING:
    from ..slack.wiring import Mode

log = logging.getLogger(__name__)

__all__ = ["SlackAccess", "SlackSide", "SlackTurns"]


class SlackTurns(Protocol):
    @property
    def diverters(self) -> list[Callable[[Turn], Awaitable[bool]]]:
        """Asked with each Slack turn before Rasa: True takes it from the bot."""
        ...

    async def open_dm(self, client: AsyncWebClient, user: str) -> str | None: ...


class SlackSide(Protocol):
    """What the bridge needs of the Slack channel (``slack.SlackChannel``)."""

    @property
    def mode(self) -> Mode: ...

    @property
    def app(self) -> AsyncApp: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def turns(self) -> SlackTurns: ...

    @property
    def ratings(self) -> SlackRatings:
        """Rating offers in Slack (after a closed handoff)."""
        ...

    @property
    def taps(self) -> list[Tap]:
        """Run before the assistant's own handling of a message: True takes the message."""
        ...


class SlackAccess:
    """The bridge's way into Slack (``Bridge`` builds on it). ``slack`` is the Slack channel, set by
    ``mount`` when Slack is on."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.slack: SlackSide | None = None  # the Slack channel, when Slack is on
        self._names: dict[str, str] = {}
        self._clients: dict[str, AsyncWebClient] = {}
        self._warned: set[str] = set()

    @property
    def outbox(self) -> Outbox:
        """Slack's posting queues. Only reached with a Slack client in hand, so Slack is on."""
        if self.slack is None:
            raise RuntimeError("the Slack channel is off")
        return self.slack.outbox

    # -- Slack clients -------------------------------------------------------------------------------

    async def client_for(self, team: str | None) -> AsyncWebClient | None:
        """A Web API client for ``team``: the app's own with one workspace; with many (OAuth), one
        holding that team's installation bot token (None, and a warning, if it isn't installed)."""
        if self.slack is None:
            return None
        if not self.slack.mode.oauth:
            return self.slack.app.client
        if not team:
            self._warn_once(
                "team",
                "handoff: set HANDOFF_SLACK_TEAM (the team id of the workspace the queue "
                "channels are in): with many workspaces the bridge can't tell where to post",
            )
            return None
        store = self.slack.app.installation_store  # bolt's OAuth mode always has one
        try:
            bot = await store.async_find_bot(enterprise_id=None, team_id=team) if store is not None else None
        except Exception:
            log.exception("handoff: could not read the installation of %s", team)
            return None
        if bot is None or not bot.bot_token:
            self._warn_once(team, f"handoff: the app is not installed in Slack team {team}: nothing posted there")
            return None
        client = self._clients.get(bot.bot_token)
        if client is None:
            from ..slack.wiring import web_client

            client = self._clients[bot.bot_token] = web_client(self.gw.settings, bot.bot_token)
        return client

    async def queue_client(self) -> AsyncWebClient | None:
        """The client that posts in the queue channels."""
        return await self.client_for(self.gw.settings.handoff_slack_team.strip() or None)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)

    # -- reps -----------------------------------------------------------------------------------------

    async def rep_name(self, client: AsyncWebClient, user: str) -> str:
        """The rep's first name as Slack shows it (display name, else real name), asked once."""
        if user in self._names:
            return self._names[user]
        name = user
        try:
            info = (await client.users_info(user=user)).get("user") or {}
            profile = info.get("profile") or {}
            name = profile.get("display_name") or info.get("real_name") or profile.get("real_name") or user
        except Exception as error:
            log.info("slack: users.info for %s failed: %s", user, getattr(error, "response", error))
        self._names[user] = name = str(name).split(" ")[0] or user
        return name
