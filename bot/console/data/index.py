"""The indexer: Rasa's events, the gateway's ratings and handoffs, and billing's organisations and
orders, into the console's tables (tables.py), so that pages answer from indexes.

**One run** (``run_once``) is one transaction on the console's database: the events watermark is
read under a lock (store.locked_state), the next events are read in id order (events.py), the
conversations, customer messages, lines and days they touch are written, the watermark moves, and
then the gateway's rows of the conversations touched, or changed since the last run by their own
times, are copied (refresh.py). Either all of it is committed or none, so a run can stop anywhere;
and since the lock serialises runs, two console replicas running it at once index every event
once (``console_messages.event_id`` is unique besides).

**Deleted events stay deleted.** Retention and erasure delete the tracker's events and, through the
privacy store (bot/privacy/console_rows.py), the console's rows; the watermark is past those events,
so nothing brings them back. A conversation that goes on after an erasure is indexed afresh.

Definitions (in scope, outcome, review reasons) are reasons.py's; this module only applies them.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, func, select, true, update
from sqlalchemy.engine import Connection, Engine

from bot.rasa_server.turn_facts import FALLBACK_ACTIONS, FALLBACK_INTENT

from . import reasons
from .billing import BillingUnavailable, ConsoleBilling
from .events import Event, payload_intent
from .events import read as read_events
from .refresh import Refresher
from .rows import Message, Thread, count, fell_back, line, new_conversation
from .store import aware, chunks, day_of, ensure_state, locked_state, set_state, upsert
from .tables import conversations, create, days, lines, messages, orders

log = logging.getLogger("bot.console.index")
EVENTS = "events"
COUNTS = ("turns", "fallbacks", "in_scope", "tasks")


class Indexer:
    def __init__(
        self,
        console_engine: Engine,
        tracker_engine: Engine | None,
        gateway_engine: Engine,
        billing: ConsoleBilling | None = None,
    ) -> None:
        self.console = console_engine
        self.tracker = tracker_engine
        self.billing = billing
        self.refresher = Refresher(gateway_engine)
        self._placed: list[str] = []  # the orders this run's events named
        create(console_engine)
        ensure_state(console_engine, (EVENTS, *self.refresher.states))

    def run_once(self, batch: int = 5000) -> int:
        """Index the next events (at most ``batch``) and the gateway's changes; the events read."""
        if not 1 <= batch <= 100_000:
            raise ValueError("the batch size must be between 1 and 100000")
        with self.console.begin() as conn:
            after = locked_state(conn, EVENTS)
            found: list[Event] = []
            upto = after
            if self.tracker is not None:
                found, upto = read_events(self.tracker, after, batch, now=time.time())
            touched = self._index(conn, found) if found else set()
            if upto != after:
                set_state(conn, EVENTS, upto)
            self.refresher.run(conn, touched)
            self._orders(conn, caught_up=not found)
        return len(found)

    def run_all(self, batch: int = 5000) -> int:
        """Runs until the events are caught up (a run reads less than a full batch: under steady
        traffic this still ends, where "until nothing is new" might not); the events read."""
        total = 0
        while True:
            read = self.run_once(batch)
            total += read
            if read < batch:
                return total

    # -- events -> rows ------------------------------------------------------------------------------

    def _index(self, conn: Connection, found: list[Event]) -> set[str]:
        senders = list(dict.fromkeys(e.sender for e in found))
        threads = self._threads(conn, senders)
        fresh: list[Message] = []
        said: list[dict[str, Any]] = []
        per_day: dict[tuple[str, date], Counter[str]] = {}
        placed: list[dict[str, Any]] = []
        for event in found:
            thread = threads.setdefault(event.sender, Thread(new_conversation(event)))
            conv = thread.conversation
            if event.kind == "user":
                message = self._customer(thread, event, per_day)
                fresh.append(message)
            elif event.kind == "action":
                if event.action in FALLBACK_ACTIONS and thread.last is not None:
                    fell_back(thread.last, conv, per_day)
            else:
                if event.text or event.buttons:
                    said.append(line(event))
                    thread.buttons = {p: t for t, p in event.buttons if p}
                    if thread.last is not None and event.buttons:
                        offered = [payload_intent(p) for _, p in event.buttons]
                        thread.suggested = reasons.suggestion(thread.last.fallback, offered)
                if event.task:
                    conv["tasks"] += 1
                    conv["task_names"] = " ".join(filter(None, [conv.get("task_names"), event.task]))[:400]
                    count(per_day, conv, event.at, "tasks")
                    if thread.last is not None:
                        thread.last.task, thread.last.changed = event.task, True
                if event.order:
                    placed.append(
                        {
                            "number": event.order,
                            "sender": event.sender,
                            "channel": conv["channel"],
                            "org": conv.get("org"),
                            "at": event.at,
                            "day": day_of(event.at),
                            "total_minor": None,
                            "currency": None,
                        }
                    )
        self._organisations(threads)
        self._write(conn, threads, fresh, said, per_day, placed)
        return set(senders)

    def _customer(self, thread: Thread, event: Event, per_day: dict[tuple[str, date], Counter[str]]) -> Message:
        conv, previous = thread.conversation, thread.last
        if previous is not None and thread.suggested is not None and not event.handoff:
            if reasons.declined(thread.suggested, event.intent):
                previous.review, previous.changed = reasons.stronger(previous.review, "declined_suggestion"), True
        pressed = event.text.startswith("/")
        if (
            previous is not None
            and not event.handoff
            and reasons.retried_after_out_of_scope(previous.intent, event.intent)
        ):
            previous.review, previous.changed = reasons.stronger(previous.review, "out_of_scope_retried"), True
        text = thread.buttons.get(event.text, event.text) if pressed else event.text
        message = Message(
            event.sender, event.id, event.at, event.channel, text, event.intent, event.confidence, handoff=event.handoff
        )
        if not event.handoff and not pressed and reasons.is_low_confidence(event.intent, event.confidence):
            message.review = "low_confidence"
        conv["turns"] += 1
        conv["last_at"] = max(conv["last_at"], event.at)
        conv["customer"] = event.email or conv.get("customer")
        if event.channel != "other" or conv["channel"] == "other":
            conv["channel"] = event.channel
        count(per_day, conv, event.at, "turns")
        if reasons.in_scope(event.intent):
            conv["in_scope"] = True
            count(per_day, conv, event.at, "in_scope")
        if event.intent == FALLBACK_INTENT and not event.handoff:
            fell_back(message, conv, per_day)
        thread.last, thread.suggested = message, None
        return message

    def _threads(self, conn: Connection, senders: list[str]) -> dict[str, Thread]:
        """The indexed conversations among these, with their last message and buttons."""
        threads: dict[str, Thread] = {}
        for part in chunks(senders):
            for row in conn.execute(select(conversations).where(conversations.c.sender.in_(part))):
                conv = dict(row._mapping)
                conv["started_at"], conv["last_at"] = aware(conv["started_at"]), aware(conv["last_at"])
                threads[row.sender] = Thread(conv)
            last_ids = select(func.max(messages.c.id)).where(messages.c.sender.in_(part)).group_by(messages.c.sender)
            for row in conn.execute(select(messages).where(messages.c.id.in_(last_ids))):
                m = row._mapping
                threads[row.sender].last = threads[row.sender].loaded = Message(
                    row.sender, m["event_id"], aware(m["at"]), m["channel"], m["text"], m["intent"], m["confidence"],
                    review=m["review"], fallback=bool(m["fallback"]), task=m["task"], id=m["id"],
                )  # fmt: skip
            line_ids = select(func.max(lines.c.id)).where(lines.c.sender.in_(part)).group_by(lines.c.sender)
            for row in conn.execute(
                select(lines.c.sender, lines.c.at, lines.c.buttons).where(lines.c.id.in_(line_ids))
            ):
                shown = [(str(t), str(p)) for t, p in json.loads(row.buttons or "[]")]
                thread = threads[row.sender]
                thread.buttons = {p: t for t, p in shown if p}
                if thread.last is not None and shown and aware(row.at) >= thread.last.at:
                    thread.suggested = reasons.suggestion(thread.last.fallback, [payload_intent(p) for _, p in shown])
        return threads

    def _organisations(self, threads: dict[str, Thread]) -> None:
        if self.billing is None:
            return
        for thread in threads.values():
            conv = thread.conversation
            if conv.get("customer") and not conv.get("org"):
                try:
                    org = self.billing.organisation(conv["customer"])
                except BillingUnavailable as why:
                    log.warning("console index: organisations left for a later run: %s", why)
                    return
                if org is not None:
                    conv["org"], conv["org_name"] = org.id, org.name

    def _write(
        self,
        conn: Connection,
        threads: dict[str, Thread],
        fresh: list[Message],
        said: list[dict[str, Any]],
        per_day: dict[tuple[str, date], Counter[str]],
        placed: list[dict[str, Any]],
    ) -> None:
        rows = []
        for thread in threads.values():
            conv = thread.conversation
            conv["outcome"] = reasons.outcome(conv["tasks"], conv.get("handoff"))
            rows.append(conv)
        upsert(conn, conversations, rows, ["sender"])
        if fresh:
            conn.execute(messages.insert(), [m.row() for m in fresh])
        changed = [
            {"i": m.id, "r": m.review, "f": m.fallback, "t": m.task}
            for t in threads.values()
            if (m := t.loaded) is not None and m.changed
        ]
        if changed:
            stmt = update(messages).where(messages.c.id == bindparam("i"))
            conn.execute(stmt.values(review=bindparam("r"), fallback=bindparam("f"), task=bindparam("t")), changed)
        if said:
            conn.execute(lines.insert(), said)
        self._days(conn, threads, per_day)
        if placed:
            upsert(conn, orders, placed, ["number"], only=["sender"])
            self._placed = [p["number"] for p in placed]

    def _days(
        self, conn: Connection, threads: dict[str, Thread], per_day: dict[tuple[str, date], Counter[str]]
    ) -> None:
        if not per_day:
            return
        have: dict[tuple[str, date], dict[str, Any]] = {}
        keys = list(per_day)
        for part in chunks(keys):
            wanted = and_(days.c.sender.in_({s for s, _ in part}), days.c.day.in_({d for _, d in part}))
            for found in conn.execute(select(days).where(wanted)):
                have[(found.sender, found.day)] = dict(found._mapping)
        rows: list[dict[str, Any]] = []
        for key, counts in per_day.items():
            row = have.get(key) or {"sender": key[0], "day": key[1], "handoffs": 0, **dict.fromkeys(COUNTS, 0)}
            row["channel"] = threads[key[0]].conversation["channel"]
            for name in COUNTS:
                row[name] += counts[name]
            rows.append(row)
        upsert(conn, days, rows, ["sender", "day"])

    # -- orders: their totals from billing ---------------------------------------------------------------

    def _orders(self, conn: Connection, caught_up: bool) -> None:
        """Orders named in the tracker whose total is not known yet: billing's, then the
        conversations' revenue again. Those of this run's events, and once the events are caught up
        those an earlier run could not ask about (billing was down)."""
        pending_ = select(orders.c.number).where(orders.c.total_minor.is_(None))
        pending = [
            r.number
            for r in conn.execute(
                pending_.where(orders.c.number.in_(self._placed) if not caught_up else true()).limit(500)
            )
        ]
        self._placed = []
        if not pending or self.billing is None:
            return
        try:
            known = self.billing.orders(pending)
        except BillingUnavailable as why:
            log.warning("console index: order totals left for a later run: %s", why)
            return
        stmt = (
            update(orders)
            .where(orders.c.number == bindparam("n"))
            .values(total_minor=bindparam("t"), currency=bindparam("c"), org=bindparam("o"))
        )
        rows = [{"n": n, "t": 0, "c": None, "o": None} for n in pending]
        for row in rows:
            if (order := known.get(str(row["n"]))) is not None:
                row.update(t=order.total_minor, c=order.currency, o=order.org)
        conn.execute(stmt, rows)
        totals = select(
            orders.c.sender, func.count(), func.coalesce(func.sum(orders.c.total_minor), 0), func.max(orders.c.currency)
        )
        senders = select(orders.c.sender).where(orders.c.number.in_(pending))
        revenue = [
            {"s": r[0], "n": r[1], "t": int(r[2]), "c": r[3]}
            for r in conn.execute(totals.where(orders.c.sender.in_(senders)).group_by(orders.c.sender))
        ]
        stmt = (
            update(conversations)
            .where(conversations.c.sender == bindparam("s"))
            .values(orders=bindparam("n"), revenue_minor=bindparam("t"), currency=bindparam("c"))
        )
        if revenue:
            conn.execute(stmt, revenue)
