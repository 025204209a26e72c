"""Everything the assistant keeps about a conversation, as one set of stores, and the rules applied
to them: retention (a conversation idle for longer than the retention period is deleted; one still
active loses what it holds from before the period) and erasure (these conversations are deleted now).

**A conversation** is a Rasa sender id: the key of its tracker, its widget history, its handoff
records and its ratings. **Its last activity** is the newest time in any of the stores, so a
conversation that is active anywhere (a widget message a minute ago, a handoff a rep is answering)
is never deleted, whatever its older rows. Deletion of an idle conversation still deletes only rows
older than the cut-off, so a row written between the check and the delete (a customer coming back
at that moment) survives, and the tracker store drops the old events a running turn would write
back (tracker_rows.py).

**Trimming an active conversation.** A Slack DM is one conversation for as long as the user exists
(its sender id is theirs), so "active" alone would keep a year of it. After the idle pass, each store
deletes the rows older than the cut-off that the conversation no longer needs: in Rasa's tracker,
the whole sessions before the period, never the latest session (Rasa reads only that one on a
turn); in the gateway, old widget messages, ratings and closed handoffs, never an open handoff.

**Batches**: candidates are listed per store in sender-id order (keyset pagination, ``after``), at
most ``batch`` at a time, and each batch is deleted in one short transaction per store, so no lock
is held for long and a run that stops half-way leaves a consistent state; running again finishes
the job (idempotent: deleting what is gone deletes nothing).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from .console_rows import ConsoleRows
from .gateway_rows import gateway_stores
from .tracker_rows import TrackerEvents


class Store(Protocol):
    name: str

    def stale(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        """Up to ``limit`` conversations after ``after`` whose rows here are all older than ``cutoff``."""
        ...

    def newest(self, senders: Sequence[str]) -> dict[str, datetime]: ...

    def rows(self, senders: Sequence[str]) -> dict[str, list[dict[str, Any]]]: ...

    def delete(self, senders: Sequence[str], before: datetime | None) -> int: ...

    def senders_of_email(self, email: str) -> list[str]: ...

    def old(self, after: str, cutoff: datetime, limit: int) -> list[str]:
        """Up to ``limit`` conversations after ``after`` with rows here older than ``cutoff``."""
        ...

    def trim(self, senders: Sequence[str], cutoff: datetime) -> int:
        """Delete these conversations' rows older than ``cutoff`` that the conversation no longer
        needs (the tracker keeps its latest session; the gateway keeps open handoffs)."""
        ...


@dataclass
class Expired:
    """What a retention run did."""

    cutoff: datetime
    conversations: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    kept_active: int = 0  # times a conversation stale in one store was kept as active in another
    trimmed: dict[str, int] = field(default_factory=dict)  # old rows of active conversations, per store
    seconds: float = 0.0


class Conversations:
    """``console_engine``: the staff console's index (CONSOLE_DATABASE_URL), one more store when set."""

    def __init__(
        self, gateway_engine: Engine, tracker_engine: Engine | None, console_engine: Engine | None = None
    ) -> None:
        self.stores: list[Store] = []
        if tracker_engine is not None:
            self.tracker: TrackerEvents | None = TrackerEvents(tracker_engine)
            self.stores.append(self.tracker)
        else:
            self.tracker = None
        self.stores.extend(gateway_stores(gateway_engine))
        if console_engine is not None:
            self.stores.append(ConsoleRows(console_engine))

    # -- retention --------------------------------------------------------------------------------

    def expire(self, days: float, *, batch: int = 500, now: datetime | None = None) -> Expired:
        if days <= 0:
            raise ValueError("the retention period must be a positive number of days")
        if not 1 <= batch <= 10_000:
            raise ValueError("the batch size must be between 1 and 10000")
        started = time.monotonic()
        now = now or datetime.now(timezone.utc)
        done = Expired(cutoff=now - timedelta(days=days), rows={s.name: 0 for s in self.stores})
        for source in self.stores:
            after = ""
            while candidates := source.stale(after, done.cutoff, batch):
                after = candidates[-1]
                idle = self._idle(candidates, done.cutoff)
                done.kept_active += len(candidates) - len(idle)
                done.conversations += len(idle)
                for store in self.stores:
                    done.rows[store.name] += store.delete(idle, done.cutoff)
        for source in self.stores:
            done.trimmed[source.name] = 0
            after = ""
            while candidates := source.old(after, done.cutoff, batch):
                after = candidates[-1]
                done.trimmed[source.name] += source.trim(candidates, done.cutoff)
        if self.tracker is not None:
            self.tracker.prune_markers(now)
        done.seconds = time.monotonic() - started
        return done

    def _idle(self, senders: Sequence[str], cutoff: datetime) -> list[str]:
        newest: dict[str, datetime] = {}
        for store in self.stores:
            for sender, at in store.newest(senders).items():
                if sender not in newest or at > newest[sender]:
                    newest[sender] = at
        return [s for s in senders if s in newest and newest[s] < cutoff]

    # -- one customer -----------------------------------------------------------------------------

    def senders_of_email(self, email: str) -> set[str]:
        found: set[str] = set()
        for store in self.stores:
            found.update(store.senders_of_email(email))
        return found

    def export(self, senders: Sequence[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """conversation -> store -> its rows (only stores that hold any)."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for store in self.stores:
            for sender, rows in store.rows(senders).items():
                out.setdefault(sender, {})[store.name] = rows
        return out

    def erase(self, senders: Sequence[str]) -> dict[str, int]:
        """Delete every row of these conversations; rows deleted per store."""
        return {store.name: store.delete(senders, None) for store in self.stores}
