"""The current time for the actions, injectable for tests.

In development only (APP_ENV=development, as make run and the test stack run), "now" can be fixed:
per conversation by the message metadata's ``now`` (an ISO 8601 time with its offset, which the
e2e tests send), or for the whole action server by ASSISTANT_NOW. Anywhere else both are ignored:
a customer's message can never move the clock.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from bot.settings_check import in_production

from ._identity import latest_metadata


def _fixed(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else None


def now(tracker: Tracker | None = None, tz: str | ZoneInfo | None = None) -> datetime:
    """Now, aware, in ``tz`` (UTC without one)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz or timezone.utc
    fixed = None
    if not in_production(os.environ):
        fixed = (_fixed(latest_metadata(tracker).get("now")) if tracker is not None else None) or _fixed(
            os.environ.get("ASSISTANT_NOW")
        )
    return (fixed or datetime.now(timezone.utc)).astimezone(zone)
