"""The handoff queues (sales, support): a Slack channel, business hours in a time zone, holidays.

    HANDOFF_SALES_CHANNEL=C0123ABCD
    HANDOFF_SALES_HOURS="Mon-Fri 09:00-17:00; Sat 10:00-14:00"
    HANDOFF_SALES_TIMEZONE=America/New_York
    HANDOFF_SALES_HOLIDAYS=2026-12-25,2027-01-01

``Queue.is_open(now)`` says whether a person is expected to answer now; ``hours_label()`` is what
the customer is told ("Mon–Fri 9 am–5 pm (America/New_York)").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

# The hours' rules are shared with the action server (callback slots, when a reply can be expected).
from bot.opening_hours import Hours, QueueConfigError, parse_holidays, parse_hours

from ..config import GatewaySettings

QUEUE_NAMES = ("sales", "support")


@dataclass(frozen=True)
class Queue:
    name: str  # sales, support
    channel: str  # Slack channel id; "" when the queue is not bridged to Slack
    hours: tuple[Hours, ...]
    timezone: str
    holidays: frozenset[date]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        return local.date() not in self.holidays and any(h.covers(local) for h in self.hours)

    def hours_label(self) -> str:
        return "; ".join(h.label() for h in self.hours) + f" ({self.timezone})" if self.hours else "by appointment"

    @property
    def title(self) -> str:
        return self.name.capitalize()


def queues_from(settings: GatewaySettings) -> dict[str, Queue]:
    queues = {}
    for name in QUEUE_NAMES:
        prefix = f"handoff_{name}_"
        tz = getattr(settings, prefix + "timezone")
        try:
            ZoneInfo(tz)
        except Exception:
            raise QueueConfigError(f"{prefix.upper()}TIMEZONE: {tz!r} is not an IANA time zone") from None
        queues[name] = Queue(
            name=name,
            channel=getattr(settings, prefix + "channel").strip(),
            hours=parse_hours(getattr(settings, prefix + "hours"), prefix.upper() + "HOURS"),
            timezone=tz,
            holidays=parse_holidays(getattr(settings, prefix + "holidays"), prefix.upper() + "HOLIDAYS"),
        )
    return queues
