"""Widget conversations kept server-side, in the gateway's database (SQLite or PostgreSQL): what a
reload restores and what every open tab of the same visitor shows.

One row per message, numbered by the database (``id``, increasing): a client says which number it
has seen last and gets what came after. Card numbers never get here: the widget's socket redacts a
user's text before storing it, the handoff bridge a rep's, and ``append`` redacts what people wrote
(user and agent rows) once more whoever calls it. The bot's own messages are stored as they are
(they quote no user text, and signed links in them must stay intact); ``bot_messages`` makes
them from Rasa's answer. Rows older than ``WIDGET_HISTORY_DAYS`` are pruned now and then.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict, cast

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine import Row as SqlRow

from bot.nlu.cards import redact_shown
from bot.tables import create_tables

from ..rasa import BotMessage

metadata = MetaData()

messages = Table(
    "widget_messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sender", String(64), nullable=False),
    Column("author", String(8), nullable=False),  # user, bot, agent
    Column("body", Text, nullable=False),  # JSON: text, buttons, image, cid, error
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_widget_messages_sender_id", "sender", "id"),
    Index("ix_widget_messages_at", "at"),
)


class WidgetButton(TypedDict):
    title: str
    payload: str


class Body(TypedDict, total=False):
    """What a stored message holds (as JSON), and the widget shows."""

    text: str
    buttons: list[WidgetButton]  # the bot's
    image: str  # the bot's: an http(s) URL
    name: str  # a person's (agent) display name
    cid: str  # a user's message: the id the widget gave it (resends are recognised by it)
    error: bool  # the bot's answer is an error message (Rasa unavailable)
    rating: str  # the bot's: a rating offer's id (bot/gateway/ratings.py): the widget shows its buttons
    rating_step: str  # "comment": the offer's Skip button (after "not helpful")


AUTHORS = ("user", "bot", "agent")
PEOPLE = ("user", "agent")  # rows whose text a person wrote
PRUNE_EVERY_S = 3600.0
MAX_BUTTONS = 12
_INSERT = insert(messages)  # built once: a statement is compiled (and cached) for each new object


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


def bot_messages(replies: list[BotMessage]) -> list[Body]:
    """Rasa's REST messages as widget message bodies: text, buttons (title, payload), image.
    Anything else (custom payloads the widget can't show) is dropped."""
    out: list[Body] = []
    for reply in replies:
        body: Body = {}
        if text := _text(reply.get("text"), 8_000):
            body["text"] = text
        buttons: list[WidgetButton] = []
        for button in reply.get("buttons") or []:
            if (
                isinstance(button, dict)
                and (title := _text(button.get("title"), 120))
                and (payload := _text(button.get("payload"), 1_000))
            ):
                buttons.append({"title": title, "payload": payload})
        if buttons:
            body["buttons"] = buttons[:MAX_BUTTONS]
        image = reply.get("image")
        if isinstance(image, str) and image.startswith(("https://", "http://")) and len(image) < 2_000:
            body["image"] = image
        if body:
            out.append(body)
    return out


@dataclass(frozen=True)
class Row:
    id: int
    sender: str
    author: str
    body: Body
    at: datetime

    def wire(self) -> dict[str, Any]:
        """The message as the widget receives it."""
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=timezone.utc)
        return {
            "type": "msg",
            "seq": self.id,
            "from": self.author,
            "ts": at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            **self.body,
        }


def _row(r: SqlRow[Any]) -> Row:
    return Row(r.id, r.sender, r.author, cast(Body, json.loads(r.body)), r.at)  # as append_sync stored it


class History:
    def __init__(self, engine: Engine, *, keep_days: int = 30, limit: int = 200) -> None:
        self.engine = engine
        self.keep = timedelta(days=keep_days)
        self.limit = limit
        create_tables(engine, metadata)
        self._pruned = 0.0

    # -- sync (called in a worker thread) ----------------------------------------------------------

    def append_sync(self, sender: str, items: list[tuple[str, Body]]) -> list[Row]:
        """Store messages in this order; they get increasing ids."""
        with self.engine.begin() as conn:
            return self.append_in(conn, sender, items)

    def append_in(self, conn: Connection, sender: str, items: list[tuple[str, Body]]) -> list[Row]:
        """``append_sync`` in a transaction the caller holds (``GatewayState.first_time_then``)."""
        now = datetime.now(timezone.utc)
        rows: list[Row] = []
        for author, body in items:
            if author not in AUTHORS:
                raise ValueError(f"author: one of {AUTHORS}")
            if author in PEOPLE and isinstance(body.get("text"), str):
                body = {**body, "text": redact_shown(body["text"])[0]}
            values = {"sender": sender, "author": author, "body": json.dumps(body, ensure_ascii=False), "at": now}
            key = conn.execute(_INSERT, values).inserted_primary_key
            assert key is not None  # a single-row INSERT always has it
            rows.append(Row(int(key[0]), sender, author, body, now))
        if time.monotonic() - self._pruned > PRUNE_EVERY_S:
            self._pruned = time.monotonic()
            conn.execute(delete(messages).where(messages.c.at < now - self.keep))
        return rows

    def after_sync(self, sender: str, after: int = 0) -> list[Row]:
        """The sender's messages after id ``after`` (all: ``after=0``), at most the last ``limit``."""
        query = (
            select(messages)
            .where(messages.c.sender == sender, messages.c.id > after)
            .order_by(messages.c.id.desc())
            .limit(self.limit)
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in reversed(conn.execute(query).all())]

    def latest_sync(self, senders: list[str]) -> dict[str, int]:
        """The newest message id of each of these senders (that has any)."""
        if not senders:
            return {}
        query = (
            select(messages.c.sender, func.max(messages.c.id).label("top"))
            .where(messages.c.sender.in_(senders))
            .group_by(messages.c.sender)
        )
        with self.engine.connect() as conn:
            return {row.sender: int(row.top) for row in conn.execute(query).all()}

    def exists_sync(self, sender: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(messages.c.id).where(messages.c.sender == sender).limit(1)).first() is not None

    # -- async ------------------------------------------------------------------------------------

    async def exists(self, sender: str) -> bool:
        """Whether this conversation has any message (pushes go only to real conversations)."""
        return await asyncio.to_thread(self.exists_sync, sender)

    async def append(self, sender: str, items: list[tuple[str, Body]]) -> list[Row]:
        return await asyncio.to_thread(self.append_sync, sender, items)

    async def after(self, sender: str, after: int = 0) -> list[Row]:
        return await asyncio.to_thread(self.after_sync, sender, after)

    async def latest(self, senders: list[str]) -> dict[str, int]:
        return await asyncio.to_thread(self.latest_sync, senders)
