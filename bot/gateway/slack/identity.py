"""Who is writing: the Slack user's verified email (users.info, cached) and their own Slack team
as the acting identity, and whether billing knows that email in that workspace.

Identity comes from Slack, never from what the user types. An email Slack has not confirmed
(``is_email_confirmed`` exactly true), a bot, a deleted user, or a workspace that did not grant
``users:read.email`` gives no identity: the user is then treated as a visitor (pricing and FAQ
work, account requests are refused).

An email alone proves nothing about the company: anyone can confirm alex@acme.example in a
workspace of their own. So the identity carries the user's own team (users.info ``team_id``: for
a Slack Connect guest that is their home workspace, not the one the message came through), and
billing acts for it only where that workspace is linked to the user's org. When billing says it
is not, the gateway says so kindly and passes no identity on (``Directory.checked``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.billing_client import BillingClient, Forbidden, Unavailable

from ..rasa import Identity

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
Account = Literal["known", "unknown", "not_linked", "unsure"]
MAX_CACHED = 10_000
NOT_LINKED_TTL_S = 60.0  # a workspace an admin links now works within a minute


@dataclass(frozen=True)
class SlackUser:
    team: str  # the workspace the event came from (the conversation's)
    user: str
    email: str | None  # verified, lower-cased; None: no identity
    name: str | None
    why_no_email: str | None = None  # "unverified", "hidden", "bot", "lookup_failed", "not_linked"
    home_team: str | None = None  # the user's own workspace (users.info team_id), where the email was verified
    account: Account | None = None  # billing's answer for email and home_team (``Directory.checked``)

    @property
    def identity(self) -> Identity:
        if self.email is None or not self.home_team:
            return {}
        return {"email": self.email, **({"name": self.name} if self.name else {}), "slack_team": self.home_team}


class _TTLCache(dict[K, tuple[float, V]]):
    """key -> (expires at on the monotonic clock, value)."""

    def get_fresh(self, key: K) -> V | None:
        found = self.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        if len(self) >= MAX_CACHED:
            self.clear()
        self[key] = (time.monotonic() + ttl, value)


class Directory:
    """users.info and billing's view of the user, each cached for ``ttl`` seconds."""

    def __init__(self, billing: BillingClient, ttl: float = 900.0) -> None:
        self.billing = billing
        self.ttl = ttl
        self._users: _TTLCache[tuple[str, str], SlackUser] = _TTLCache()
        self._accounts: _TTLCache[tuple[str, str | None], Account] = _TTLCache()

    async def user(self, client: AsyncWebClient, team: str, user: str) -> SlackUser:
        cached = self._users.get_fresh((team, user))
        if cached is not None:
            return cached
        try:
            answer = await client.users_info(user=user)
        except Exception as error:
            log.warning("slack: users.info for %s failed: %s", user, getattr(error, "response", error))
            return SlackUser(team, user, None, None, "lookup_failed")
        found = answer.get("user") or {}
        profile = found.get("profile") or {}
        name = profile.get("real_name") or found.get("real_name") or profile.get("display_name") or None
        email = profile.get("email")
        home = found.get("team_id") or team
        why = None
        if found.get("is_bot") or found.get("deleted"):
            email, why = None, "bot"
        elif not isinstance(email, str) or "@" not in email:
            email, why = None, "hidden"
        elif found.get("is_email_confirmed") is not True:  # missing, "true", 1: not Slack's confirmation
            email, why = None, "unverified"
        elif not isinstance(home, str) or not home:
            email, why = None, "lookup_failed"
        person = SlackUser(
            team, user, email.strip().lower() if email else None, name, why, home if isinstance(home, str) else None
        )
        self._users.put((team, user), person, self.ttl)
        return person

    async def account(self, email: str, team: str | None) -> Account:
        """Does billing know this email in Slack team ``team``? ("not_linked": the workspace is not
        linked to the user's org; "unsure": billing can't say right now.)"""
        key = (email, team)
        cached = self._accounts.get_fresh(key)
        if cached is not None:
            return cached
        try:
            await self.billing.as_user(email, channel="slack", slack_team=team).me()
            found: Account = "known"
        except Forbidden as error:
            refusals: dict[str, Account] = {"unknown_user": "unknown", "slack_workspace_not_linked": "not_linked"}
            found = refusals.get(error.code, "known")
        except Unavailable:
            return "unsure"
        except Exception:
            log.exception("billing lookup for a Slack user failed")
            return "unsure"
        self._accounts.put(key, found, NOT_LINKED_TTL_S if found == "not_linked" else self.ttl)
        return found

    async def checked(self, who: SlackUser) -> SlackUser:
        """``who`` with billing's answer in ``account``, and without an identity when billing says
        their workspace isn't linked to their org: they go on as a visitor (told why once) instead
        of every account request failing. When billing can't say, the identity goes on and billing
        decides on each call."""
        if who.email is None:
            return who
        account = await self.account(who.email, who.home_team)
        if account == "not_linked":
            return replace(who, email=None, why_no_email="not_linked", account=account)
        return replace(who, account=account)
