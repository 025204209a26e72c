"""Real databases for the privacy tests: Rasa's ``events`` table as Rasa 3.6's SQL tracker store
creates it, and the gateway's tables, on SQLite files or a throw-away PostgreSQL database; and
helpers that write a conversation into every store at a chosen time."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, insert, select
from sqlalchemy.engine import Engine

from bot.billing.adapters.db import normalise_url
from bot.gateway.handoff.store import handoffs
from bot.gateway.ratings import ratings
from bot.gateway.widget.history import messages
from bot.privacy.gateway_rows import gateway_stores

rasa_metadata = MetaData()
# Rasa 3.6's SQLTrackerStore.SQLEvent (rasa/core/tracker_store.py)
events = Table(
    "events",
    rasa_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class Databases:
    gateway: Engine
    tracker: Engine
    gateway_url: str
    tracker_url: str

    def dispose(self) -> None:
        self.gateway.dispose()
        self.tracker.dispose()


def databases(kind: str, tmp_path: Path) -> Iterator[Databases]:
    """``sqlite``: two files; ``postgresql``: one throw-away database holding both (as a small
    deployment might), skipped without a server unless CI=true."""
    if kind == "sqlite":
        urls = iter(())
        gw_url, tr_url = f"sqlite:///{tmp_path / 'gateway.sqlite3'}", f"sqlite:///{tmp_path / 'rasa.sqlite3'}"
    else:
        from tests.conftest import _postgres_database

        base = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        urls = _postgres_database(base)
        gw_url = tr_url = next(urls)
    dbs = Databases(create_engine(normalise_url(gw_url)), create_engine(normalise_url(tr_url)), gw_url, tr_url)
    rasa_metadata.create_all(dbs.tracker)
    gateway_stores(dbs.gateway)  # creates the gateway's tables
    try:
        yield dbs
    finally:
        dbs.dispose()
        next(urls, None)


def conversation(
    dbs: Databases, sender: str, at: datetime, *, email: str | None = None, text: str = "hello", handoff: bool = False
) -> None:
    """A conversation last active at ``at`` in every store: a user turn and a reply in Rasa's tracker
    (with the verified identity, as the gateway sends it), the widget history, a rating, and a handoff."""
    meta = {"identity": {"email": email}} if email else {}
    with dbs.tracker.begin() as conn:
        for i, (kind, data) in enumerate(
            [
                (
                    "user",
                    {"event": "user", "text": text, "metadata": meta, "parse_data": {"intent": {"name": "greet"}}},
                ),
                ("bot", {"event": "bot", "text": "Hi! How can I help?"}),
            ]
        ):
            ts = (at - timedelta(seconds=10 - i)).timestamp()
            conn.execute(
                insert(events).values(
                    sender_id=sender, type_name=kind, timestamp=ts, data=json.dumps({**data, "timestamp": ts})
                )
            )
    with dbs.gateway.begin() as conn:
        conn.execute(insert(messages).values(sender=sender, author="user", body=json.dumps({"text": text}), at=at))
        conn.execute(
            insert(ratings).values(
                id=f"r-{sender}"[:32],
                conversation=sender,
                channel="widget",
                task="order_placed",
                customer=email,
                state="helpful",
                offered_at=at - timedelta(seconds=5),
                answered_at=at,
            )
        )
        if handoff:
            conn.execute(
                insert(handoffs).values(
                    number=f"HO-{sender}"[:40],
                    queue="sales",
                    sender=sender,
                    status="closed",
                    created_at=at,
                    closed_at=at,
                )
            )


def held(dbs: Databases, sender: str) -> dict[str, int]:
    """Rows of this conversation in each store."""
    with dbs.tracker.connect() as conn:
        counts = {"tracker_events": conn.execute(select(func.count()).where(events.c.sender_id == sender)).scalar_one()}
    with dbs.gateway.connect() as conn:
        for name, table, key in (
            ("widget_messages", messages, messages.c.sender),
            ("handoffs", handoffs, handoffs.c.sender),
            ("ratings", ratings, ratings.c.conversation),
        ):
            counts[name] = conn.execute(select(func.count()).select_from(table).where(key == sender)).scalar_one()
    return counts


def now() -> datetime:
    return datetime.now(timezone.utc)


def session(dbs: Databases, sender: str, at: datetime, text: str = "hello") -> None:
    """One Rasa session started at ``at``, as Rasa writes it: the session start action, the
    ``session_started`` event, the listen, a customer message and a reply, a few seconds apart."""
    steps: list[tuple[str, dict[str, object]]] = [
        ("action", {"event": "action", "name": "action_session_start"}),
        ("session_started", {"event": "session_started"}),
        ("action", {"event": "action", "name": "action_listen"}),
        ("user", {"event": "user", "text": text, "parse_data": {"intent": {"name": "greet"}}}),
        ("bot", {"event": "bot", "text": "Hi! How can I help?"}),
    ]
    with dbs.tracker.begin() as conn:
        for i, (kind, data) in enumerate(steps):
            ts = (at + timedelta(seconds=i)).timestamp()
            conn.execute(
                insert(events).values(
                    sender_id=sender, type_name=kind, timestamp=ts, data=json.dumps({**data, "timestamp": ts})
                )
            )


def texts(dbs: Databases, sender: str) -> list[str]:
    """The customer's messages still in the tracker, oldest first."""
    with dbs.tracker.connect() as conn:
        said = events.c.sender_id == sender, events.c.type_name == "user"
        rows = conn.execute(select(events.c.data).where(*said).order_by(events.c.id))
        return [json.loads(r[0])["text"] for r in rows]
