"""Who is writing: the Slack user's verified email (users.info, cached) as the acting identity,
and whether billing knows that email.

Identity comes from Slack, never from what the user types. An email Slack has not confirmed, a
bot, a deleted user, or a workspace that did not grant ``users:read.email`` gives no identity:
the user is then treated as a visitor (pricing and FAQ work, account requests are refused).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from slack_sdk.web.async_client import AsyncWebClient

from bot.billing_client import BillingClient, Forbidden, Unavailable

log = logging.getLogger(__name__)

Account = Literal["known", "unknown", "unsure"]
MAX_CACHED = 10_000


@dataclass(frozen=True)
class SlackUser:
    team: str
    user: str
    email: str | None  # verified, lower-cased; None: no identity
    name: str | None
    why_no_email: str | None = None  # "unverified", "hidden", "bot", "lookup_failed"

    @property
    def identity(self) -> dict[str, str]:
        if self.email is None:
            return {}
        return {"email": self.email, **({"name": self.name} if self.name else {})}


class _TTLCache(dict):
    def get_fresh(self, key):  # noqa: ANN001, ANN201
        found = self.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key, value, ttl: float) -> None:  # noqa: ANN001
        if len(self) >= MAX_CACHED:
            self.clear()
        self[key] = (time.monotonic() + ttl, value)


class Directory:
    """users.info and billing's view of the user, each cached for ``ttl`` seconds."""

    def __init__(self, billing: BillingClient, ttl: float = 900.0) -> None:
        self.billing = billing
        self.ttl = ttl
        self._users = _TTLCache()
        self._accounts = _TTLCache()

    async def user(self, client: AsyncWebClient, team: str, user: str) -> SlackUser:
        cached = self._users.get_fresh((team, user))
        if cached is not None:
            return cached
        try:
            answer = await client.users_info(user=user)
        except Exception as error:  # noqa: BLE001 - no identity this turn; not cached
            log.warning("slack: users.info for %s failed: %s", user, getattr(error, "response", error))
            return SlackUser(team, user, None, None, "lookup_failed")
        found = answer.get("user") or {}
        profile = found.get("profile") or {}
        name = profile.get("real_name") or found.get("real_name") or profile.get("display_name") or None
        email = profile.get("email")
        why = None
        if found.get("is_bot") or found.get("deleted"):
            email, why = None, "bot"
        elif not isinstance(email, str) or "@" not in email:
            email, why = None, "hidden"
        elif found.get("is_email_confirmed") is False:
            email, why = None, "unverified"
        person = SlackUser(team, user, email.strip().lower() if email else None, name, why)
        self._users.put((team, user), person, self.ttl)
        return person

    async def account(self, email: str) -> Account:
        """Does billing know this email? ("unsure" when billing can't say right now.)"""
        cached = self._accounts.get_fresh(email)
        if cached is not None:
            return cached
        try:
            await self.billing.as_user(email, channel="slack").me()
            found: Account = "known"
        except Forbidden as error:
            found = "unknown" if error.code == "unknown_user" else "known"
        except Unavailable:
            return "unsure"
        except Exception:  # noqa: BLE001 - never block a turn on this check
            log.exception("billing lookup for a Slack user failed")
            return "unsure"
        self._accounts.put(email, found, self.ttl)
        return found
