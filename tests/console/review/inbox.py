"""Real databases and project files for the review inbox's tests: the console's tables and Rasa's
``events`` table (as Rasa 3.6's SQL tracker store creates it: tests/privacy/rows.py) on a SQLite
file or a throw-away PostgreSQL database, rows written the way the indexer writes them, and a copy
of the project's nlu_data/ for the reviewed-data file to live beside."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import Engine

from bot.billing.adapters.db import normalise_url
from bot.console.data.review import Review
from bot.console.data.tables import messages, metadata
from tests.privacy.rows import events, rasa_metadata

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
_event_ids = itertools.count(1_000_000)


@dataclass
class Db:
    engine: Engine
    url: str


def database(kind: str, tmp_path: Path) -> Iterator[Db]:
    """``sqlite``: a file; ``postgresql``: a throw-away database at TEST_POSTGRES_URL (skipped
    without a server, failed under CI=true). Console tables and Rasa's events table in it."""
    if kind == "sqlite":
        urls: Iterator[str] = iter(())
        url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    else:
        from tests.conftest import _postgres_database

        urls = _postgres_database(
            os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        )
        url = next(urls)
    engine = create_engine(normalise_url(url))
    metadata.create_all(engine)
    rasa_metadata.create_all(engine)
    try:
        yield Db(engine, url)
    finally:
        engine.dispose()
        next(urls, None)


def project(tmp_path: Path) -> Path:
    """A copy of nlu_data/ (the reviewed file as committed, empty) under ``tmp_path``."""
    folder = tmp_path / "nlu_data"
    shutil.copytree(ROOT / "nlu_data", folder)
    return folder / "reviewed.yml"


def review(db: Db, reviewed: Path, **extra: Any) -> Review:
    """The inbox over ``db`` (Rasa's events in the same database), the project's domain, and the
    held-out lines of the project (nlu_dev/, the evaluation set's fingerprints) unless given."""
    settings: dict[str, Any] = {
        "tests_dir": reviewed.parent.parent / "conversations",
        "domain_dir": ROOT / "bot" / "domain",
        "tracker_engine": db.engine,
        "dev_dir": ROOT / "nlu_dev",
        "eval_fingerprints": ROOT / "tests" / "nlu_data" / "eval_fingerprints.txt",
    }
    return Review(db.engine, reviewed_file=reviewed, **{**settings, **extra})


def add_message(
    db: Db,
    text: str,
    *,
    review: str | None = "fallback",
    intent: str | None = "nlu_fallback",
    confidence: float | None = 0.2,
    minutes: int = 0,
    sender: str = "wv-1",
    event_id: int | None = None,
) -> int:
    """One customer message as the indexer stores it; its id."""
    with db.engine.begin() as conn:
        return conn.execute(
            insert(messages)
            .values(
                sender=sender,
                event_id=next(_event_ids) if event_id is None else event_id,
                at=T0 + timedelta(minutes=minutes),
                channel="widget",
                text=text,
                intent=intent,
                confidence=confidence,
                review=review,
            )
            .returning(messages.c.id)
        ).scalar_one()


def labels(db: Db) -> dict[int, tuple[str | None, str | None]]:
    """id -> (label, labelled_by) of every message."""
    with db.engine.connect() as conn:
        return {r.id: (r.label, r.labelled_by) for r in conn.execute(select(messages))}


def add_events(db: Db, sender: str, found: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Rasa events (type, data) in order, one second apart, as the SQL tracker store writes them
    (``data`` is the event's JSON with its type and timestamp); their ids."""
    ids = []
    with db.engine.begin() as conn:
        for i, (kind, data) in enumerate(found):
            ts = (T0 + timedelta(seconds=i)).timestamp()
            row = {
                "sender_id": sender,
                "type_name": kind,
                "timestamp": ts,
                "intent_name": ((data.get("parse_data") or {}).get("intent") or {}).get("name"),
                "action_name": data.get("name") if kind == "action" else None,
                "data": json.dumps({"event": kind, "timestamp": ts, **data}),
            }
            ids.append(conn.execute(insert(events).values(**row).returning(events.c.id)).scalar_one())
    return ids
