"""Rasa's tracker store as the indexer reads it: the ``events`` table of Rasa 3.6's SQL store (id,
sender_id, type_name, timestamp as epoch seconds, intent_name, action_name, data as JSON text; our
stores in bot/rasa_server/tracker_store.py keep that schema), in id order after a watermark.

Only the three kinds the console shows or counts are read (``user``, ``bot``, ``action``); slots,
featurization and session events are skipped in SQL, so their JSON is never parsed.

**Ids committed out of order.** On PostgreSQL two turns saved at once take ids before they commit,
so a reader can see id 120 while 110 is not committed yet; a watermark moved to 120 would skip 110
for ever. ``settled`` therefore stops a batch before a gap in the ids that is younger than
``SETTLE_S``: the next run reads from there. A gap that stays (a rolled-back save, events that
retention or an erasure deleted) is passed once it is older than that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from bot.nlu.cards import redact_shown
from bot.telemetry.tasks import TASK_DONE, TASKS

SETTLE_S = 30.0  # longer than a turn's save takes (a turn gives up after RASA_TIMEOUT_S = 20 s)
CHANNELS = ("widget", "slack")  # anything else (the shell, tests) is "other"
ORDER_NUMBER = re.compile(r"\bORD-\d+\b")  # bot/actions/templates/changes/order.txt names it
_PAYLOAD = re.compile(r"^/([A-Za-z0-9_]{1,64})")

READ = text(
    "SELECT id, sender_id, type_name, timestamp, data FROM events "
    "WHERE id > :after AND type_name IN ('user', 'bot', 'action') ORDER BY id LIMIT :limit"
)
# ids skipped by the filter above still count as read: the gap check looks at all of them
IDS = text("SELECT id, timestamp FROM events WHERE id > :after AND id <= :upto ORDER BY id")


@dataclass
class Event:
    id: int
    sender: str
    at: datetime
    kind: str  # user, bot, action
    text: str = ""
    intent: str | None = None
    confidence: float | None = None
    channel: str = "other"
    email: str | None = None
    handoff: bool = False  # said while a person had the conversation (bot/gateway/handoff/tracker.py)
    action: str | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (title, payload)
    task: str | None = None
    rep: bool = False  # a bot event that is a rep's words
    order: str | None = None  # the order number a task "order_placed" names


def channel_of(value: object) -> str:
    return value if isinstance(value, str) and value in CHANNELS else "other"


def payload_intent(payload: str) -> str | None:
    """The intent a button's payload sends ("/pay_invoice{...}" -> pay_invoice)."""
    found = _PAYLOAD.match(payload or "")
    return found.group(1) if found else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse(row: Sequence[Any]) -> Event:
    """One row of ``READ`` as the console sees it; texts redacted of card numbers (again: the
    gateway redacted the customer's before NLU)."""
    event_id, sender, kind, ts, raw = row
    data = _dict(json.loads(raw)) if raw else {}
    at = datetime.fromtimestamp(float(ts or data.get("timestamp") or 0), timezone.utc)
    event = Event(int(event_id), str(sender), at, str(kind))
    meta = _dict(data.get("metadata"))
    if kind == "user":
        event.text = redact_shown(str(data.get("text") or ""))[0]
        intent = _dict(_dict(data.get("parse_data")).get("intent"))
        event.intent = intent["name"] if isinstance(intent.get("name"), str) else None
        confidence = intent.get("confidence")
        event.confidence = float(confidence) if isinstance(confidence, int | float) else None
        event.channel = channel_of(meta.get("channel"))
        email = _dict(meta.get("identity")).get("email")
        event.email = email.strip().lower() if isinstance(email, str) and email.strip() else None
        event.handoff = bool(meta.get("handoff"))
    elif kind == "bot":
        event.text = redact_shown(str(data.get("text") or ""))[0]
        body = _dict(data.get("data"))
        event.buttons = [
            (str(b.get("title") or ""), str(b.get("payload") or ""))
            for b in body.get("buttons") or []
            if isinstance(b, dict)
        ]
        task = _dict(body.get("custom")).get(TASK_DONE)
        event.task = task if isinstance(task, str) and task in TASKS else None
        event.rep = bool(meta.get("rep"))
        if event.task == "order_placed" and (number := ORDER_NUMBER.search(event.text)):
            event.order = number.group(0)
    else:
        name = data.get("name")
        event.action = name if isinstance(name, str) else None
    return event


def read(engine: Engine, after: int, limit: int, *, now: float) -> tuple[list[Event], int]:
    """Up to ``limit`` events after id ``after``, and the id to move the watermark to (it may stop
    before the last id read: ``settled``)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("events"):
            return [], after  # Rasa creates it on its first start
        rows = conn.execute(READ, {"after": after, "limit": limit}).all()
        if not rows:
            return [], after
        ids = conn.execute(IDS, {"after": after, "upto": rows[-1][0]}).all()
    upto = settled(after, [(int(r[0]), float(r[1] or 0)) for r in ids], now)
    return [parse(r) for r in rows if r[0] <= upto], upto


def settled(after: int, ids: Sequence[tuple[int, float]], now: float) -> int:
    """The last id before the first gap that a save still running could fill (the event after the
    gap is younger than SETTLE_S), or the last id."""
    previous = after
    for event_id, ts in ids:
        if event_id != previous + 1 and ts > now - SETTLE_S:
            return previous
        previous = event_id
    return previous
