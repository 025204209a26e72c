"""The indexer's rows in memory (index.py): a customer message and what a conversation's next events
need to know of its earlier ones, and the rows a conversation, a per-day count and a bot line start
as."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import reasons
from .events import Event
from .store import day_of


@dataclass
class Message:
    """A customer message: new in this run (``id`` None) or the conversation's last one, loaded."""

    sender: str
    event_id: int
    at: datetime
    channel: str
    text: str
    intent: str | None
    confidence: float | None
    review: str | None = None
    fallback: bool = False
    task: str | None = None
    handoff: bool = False
    id: int | None = None
    changed: bool = False

    def row(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "sender",
                "event_id",
                "at",
                "channel",
                "text",
                "intent",
                "confidence",
                "review",
                "fallback",
                "task",
            )
        }


@dataclass
class Thread:
    """What one conversation's next events need to know of its earlier ones."""

    conversation: dict[str, Any]
    last: Message | None = None
    loaded: Message | None = None  # the last message as it was indexed: written again if changed
    suggested: reasons.Suggestion | None = None  # a "did you mean" waiting for the answer
    buttons: dict[str, str] = field(default_factory=dict)  # payload -> title of the last buttons


def new_conversation(event: Event) -> dict[str, Any]:
    return {
        "sender": event.sender,
        "channel": event.channel,
        "customer": event.email,
        "org": None,
        "org_name": None,
        "started_at": event.at,
        "last_at": event.at,
        "turns": 0,
        "fallbacks": 0,
        "tasks": 0,
        "task_names": None,
        "in_scope": False,
        "handoff": None,
        "handoff_answered": None,
        "outcome": "abandoned",
        "rating": None,
        "revenue_minor": 0,
        "currency": None,
        "orders": 0,
    }


def count(per_day: dict[tuple[str, date], Counter[str]], conv: dict[str, Any], at: datetime, name: str) -> None:
    per_day.setdefault((conv["sender"], day_of(at)), Counter())[name] += 1


def fell_back(message: Message, conv: dict[str, Any], per_day: dict[tuple[str, date], Counter[str]]) -> None:
    """``fallback``: counted once per message, whichever of its intent or an action said so first."""
    if message.fallback or message.handoff:
        return
    message.fallback, message.changed = True, True
    message.review = reasons.stronger(message.review, "fallback")
    conv["fallbacks"] += 1
    count(per_day, conv, message.at, "fallbacks")


def line(event: Event) -> dict[str, Any]:
    return {
        "sender": event.sender,
        "event_id": event.id,
        "at": event.at,
        "author": "agent" if event.rep else "bot",
        "text": event.text,
        "buttons": json.dumps([[t, p] for t, p in event.buttons]) if event.buttons else None,
    }
