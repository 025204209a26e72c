"""Conversations written the way Rasa 3.6's SQL tracker store writes them (the ``events`` rows of
tests/privacy/rows.py, each event's JSON as Rasa dumps it, with the metadata our gateway sends:
bot/gateway/rasa.py's TurnMetadata), and the gateway's rating and handoff rows; on SQLite files or
one throw-away PostgreSQL database. ``Talk`` keeps a clock so a test reads like a conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine

from bot.billing.adapters.db import normalise_url
from bot.gateway.handoff.store import handoffs
from bot.gateway.ratings import ratings
from tests.privacy.rows import Databases, databases, events

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
META = {"model_id": "m1", "assistant_id": "account-assistant"}


@dataclass
class Stores:
    dbs: Databases
    console: Engine
    console_url: str

    @property
    def tracker(self) -> Engine:
        return self.dbs.tracker

    @property
    def gateway(self) -> Engine:
        return self.dbs.gateway


def stores(kind: str, tmp_path: Path) -> Iterator[Stores]:
    """The tracker, the gateway's tables and the console's index (PostgreSQL: one database)."""
    for dbs in databases(kind, tmp_path):
        url = f"sqlite:///{tmp_path / 'console.sqlite3'}" if kind == "sqlite" else dbs.gateway_url
        console = create_engine(normalise_url(url))
        try:
            yield Stores(dbs, console, url)
        finally:
            console.dispose()


@dataclass
class Talk:
    """One conversation: each call appends events as Rasa would, ``step`` apart."""

    stores: Stores
    sender: str
    channel: str = "widget"
    email: str | None = "alex@acme.example"
    at: datetime = START
    step: timedelta = timedelta(seconds=5)
    written: list[dict[str, Any]] = field(default_factory=list)

    def _event(self, kind: str, data: dict[str, Any], **columns: Any) -> None:
        self.at += self.step
        ts = self.at.timestamp()
        body = {"event": kind, "timestamp": ts, **data}
        body["metadata"] = {**META, **body.get("metadata", {})}
        with self.stores.tracker.begin() as conn:
            conn.execute(
                insert(events).values(
                    sender_id=self.sender, type_name=kind, timestamp=ts, data=json.dumps(body), **columns
                )
            )

    def user(self, text: str, intent: str, confidence: float = 0.98, **meta: Any) -> Talk:
        metadata = {"channel": self.channel, **({"identity": {"email": self.email}} if self.email else {}), **meta}
        parse = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "metadata": metadata,
        }
        self._event(
            "user",
            {"text": text, "parse_data": parse, "metadata": metadata, "input_channel": "gateway"},
            intent_name=intent,
        )
        self._event("user_featurization", {"use_text_for_featurization": False})
        return self

    def action(self, name: str) -> Talk:
        self._event("action", {"name": name, "policy": "RulePolicy", "confidence": 1.0}, action_name=name)
        return self

    def bot(self, text: str, buttons: list[tuple[str, str]] = (), task: str | None = None, **meta: Any) -> Talk:
        data = {
            "elements": None,
            "quick_replies": None,
            "buttons": [{"title": t, "payload": p} for t, p in buttons] or None,
            "attachment": None,
            "image": None,
            "custom": {"task_done": task} if task else None,
        }
        self._event("bot", {"text": text, "data": data, "metadata": meta})
        return self

    def slot(self, name: str, value: Any) -> Talk:
        self._event("slot", {"name": name, "value": value}, action_name=name)
        return self

    def turn(
        self, text: str, intent: str, reply: str, *, action: str = "utter_reply", confidence: float = 0.98, **bot: Any
    ) -> Talk:
        return self.user(text, intent, confidence).action(action).bot(reply, **bot).action("action_listen")

    def rating(self, state: str, task: str = "order_placed", comment: str | None = None) -> Talk:
        self.at += self.step
        with self.stores.gateway.begin() as conn:
            conn.execute(
                insert(ratings).values(
                    id=f"r{abs(hash((self.sender, self.at))) % 10**12}",
                    conversation=self.sender,
                    channel=self.channel,
                    task=task,
                    customer=self.email,
                    state=state,
                    comment=comment,
                    offered_at=self.at,
                    answered_at=self.at + timedelta(seconds=1) if state != "offered" else None,
                )
            )
        return self

    def handoff(self, number: str, status: str = "open", queue: str = "support") -> Talk:
        self.at += self.step
        claimed = self.at + timedelta(minutes=1) if status in ("claimed", "closed") else None
        with self.stores.gateway.begin() as conn:
            conn.execute(
                insert(handoffs).values(
                    number=number,
                    queue=queue,
                    sender=self.sender,
                    status=status,
                    claimed_by="U1" if claimed else None,
                    claimed_name="Dana" if claimed else None,
                    created_at=self.at,
                    claimed_at=claimed,
                    closed_at=self.at + timedelta(minutes=5) if status == "closed" else None,
                )
            )
        return self
