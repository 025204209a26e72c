"""Rasa's tracker store seen from the app environment: its ``events`` table (Rasa's SQL store's
schema, which our stores in bot/rasa_server/tracker_store.py keep) read and deleted with plain SQL.

Rasa has no API to delete a conversation, and the retention job must not depend on Rasa being up,
so this module works on the database directly, as the staff console reads it (DESIGN.md: console ->
tracker store). A turn that is running while its conversation is deleted would write the old events
back (Rasa's save stores "the events not stored yet" by counting); each deletion therefore leaves an
erasure marker that the tracker stores read on save (``conversation_erasures``, keyed by a hash of
the sender id: the marker keeps no identifier). Timestamps there are Rasa's: epoch seconds (float).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection, Engine

NAME = "tracker_events"
MARKER_TTL_S = 86_400.0  # a turn lasts seconds (RASA_TIMEOUT_S); a day is ample

# The same DDL as bot/rasa_server/tracker_store.py's (whichever side starts first creates it).
ERASURES_DDL = text(
    "CREATE TABLE IF NOT EXISTS conversation_erasures "
    "(sender_key VARCHAR(64) PRIMARY KEY, before_ts DOUBLE PRECISION NOT NULL, erased_at DOUBLE PRECISION NOT NULL)"
)

STALE = text(
    "SELECT sender_id FROM events WHERE sender_id > :after "
    "GROUP BY sender_id HAVING max(timestamp) < :cutoff ORDER BY sender_id LIMIT :limit"
)
NEWEST = text("SELECT sender_id, max(timestamp) FROM events WHERE sender_id IN :senders GROUP BY sender_id").bindparams(
    bindparam("senders", expanding=True)
)
ROWS = text("SELECT sender_id, data FROM events WHERE sender_id IN :senders ORDER BY sender_id, id").bindparams(
    bindparam("senders", expanding=True)
)
DELETE_ALL = text("DELETE FROM events WHERE sender_id IN :senders").bindparams(bindparam("senders", expanding=True))
DELETE_OLDER = text("DELETE FROM events WHERE sender_id IN :senders AND timestamp < :before").bindparams(
    bindparam("senders", expanding=True)
)
# Conversations with events older than the cut-off (trimming's candidates; trim() decides what goes).
OLD = text(
    "SELECT sender_id FROM events WHERE sender_id > :after "
    "GROUP BY sender_id HAVING min(timestamp) < :cutoff ORDER BY sender_id LIMIT :limit"
)
# Whole sessions before the cut-off, never the latest session: the events before the first session
# that started after the cut-off (or, when none did, before the latest session's start), and older
# than the cut-off themselves. Ids follow the order Rasa wrote the events in.
TRIM = text(
    "DELETE FROM events WHERE sender_id IN :senders AND timestamp < :cutoff AND id < COALESCE("
    "(SELECT min(s.id) FROM events s WHERE s.sender_id = events.sender_id "
    "AND s.type_name = 'session_started' AND s.timestamp >= :cutoff), "
    "(SELECT max(s.id) FROM events s WHERE s.sender_id = events.sender_id AND s.type_name = 'session_started'))"
).bindparams(bindparam("senders", expanding=True))
FORGET_MARKERS = text("DELETE FROM conversation_erasures WHERE sender_key IN :keys").bindparams(
    bindparam("keys", expanding=True)
)
ADD_MARKER = text("INSERT INTO conversation_erasures (sender_key, before_ts, erased_at) VALUES (:key, :before, :now)")
PRUNE_MARKERS = text("DELETE FROM conversation_erasures WHERE erased_at < :until")
# Who wrote as this email, on any channel: Rasa stores the verified identity in each user event's
# metadata (json.dumps' default separators, as Rasa writes them). A scan, for a rare admin request.
BY_EMAIL = text("SELECT DISTINCT sender_id FROM events WHERE type_name = 'user' AND data LIKE :pattern ESCAPE '!'")


def sender_key(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode()).hexdigest()


def _epoch(at: datetime) -> float:
    return at.timestamp()


class TrackerEvents:
    """One store of the privacy job (stores.py): rows are Rasa events, keyed by ``sender_id``."""

    name = NAME

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.begin() as conn:
            conn.execute(ERASURES_DDL)

    def _ready(self, conn: Connection) -> bool:
        """Rasa creates ``events`` on its first start; before that there is nothing to do."""
        return inspect(conn).has_table("events")

    def stale(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        with self.engine.connect() as conn:
            if not self._ready(conn):
                return []
            rows = conn.execute(STALE, {"after": after, "cutoff": _epoch(cutoff), "limit": limit}).all()
        return [r[0] for r in rows]

    def newest(self, senders: Sequence[str]) -> dict[str, datetime]:
        if not senders:
            return {}
        with self.engine.connect() as conn:
            if not self._ready(conn):
                return {}
            rows = conn.execute(NEWEST, {"senders": list(senders)}).all()
        return {r[0]: datetime.fromtimestamp(float(r[1]), timezone.utc) for r in rows if r[1] is not None}

    def rows(self, senders: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        if not senders:
            return found
        with self.engine.connect() as conn:
            if not self._ready(conn):
                return found
            for row in conn.execute(ROWS, {"senders": list(senders)}):
                found.setdefault(str(row[0]), []).append(json.loads(str(row[1])))
        return found

    def senders_of_email(self, email: str) -> list[str]:
        escaped = email.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        with self.engine.connect() as conn:
            if not self._ready(conn):
                return []
            return sorted(r[0] for r in conn.execute(BY_EMAIL, {"pattern": f'%"email": "{escaped}"%'}))

    def delete(self, senders: Sequence[str], before: datetime | None) -> int:
        """Delete these conversations' events (only those older than ``before`` when given), and
        mark them so that a turn in flight cannot write the deleted events back."""
        if not senders:
            return 0
        now = datetime.now(timezone.utc)
        mark = _epoch(before or now)
        keys = [sender_key(s) for s in senders]
        with self.engine.begin() as conn:
            if not self._ready(conn):
                return 0
            conn.execute(FORGET_MARKERS, {"keys": keys})
            conn.execute(ADD_MARKER, [{"key": k, "before": mark, "now": _epoch(now)} for k in keys])
            if before is None:
                done = conn.execute(DELETE_ALL, {"senders": list(senders)})
            else:
                done = conn.execute(DELETE_OLDER, {"senders": list(senders), "before": mark})
            return int(done.rowcount)

    def old(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        with self.engine.connect() as conn:
            if not self._ready(conn):
                return []
            rows = conn.execute(OLD, {"after": after, "cutoff": _epoch(cutoff), "limit": limit}).all()
        return [r[0] for r in rows]

    def trim(self, senders: Sequence[str], cutoff: datetime) -> int:
        """Delete these conversations' sessions that ended before ``cutoff``, keeping the latest.

        No erasure marker is needed: Rasa reads and counts only the latest session's events on each
        turn (our stores and Rasa's own), which this never touches, so a turn in flight cannot write
        the deleted ones back."""
        if not senders:
            return 0
        with self.engine.begin() as conn:
            if not self._ready(conn):
                return 0
            return int(conn.execute(TRIM, {"senders": list(senders), "cutoff": _epoch(cutoff)}).rowcount)

    def prune_markers(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(PRUNE_MARKERS, {"until": _epoch(now) - MARKER_TTL_S}).rowcount)
