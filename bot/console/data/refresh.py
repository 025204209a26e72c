"""The gateway's side of the index: ratings (bot/gateway/ratings.py, ``assistant_ratings``) and
handoffs (bot/gateway/handoff/store.py, ``gateway_handoffs``). They change without a new event (a
rep claims a handoff, a customer taps "not helpful"), so besides the conversations a run's events
touched, a run takes the conversations whose rows there changed since the last run, by their own
times (``GATEWAY``: microseconds since the epoch, with OVERLAP read again for rows committed late
or written by a replica whose clock is a little behind: copying a row again changes nothing).

For those conversations: the copies (console_ratings, console_handoffs), the conversation's handoff
state, rating and outcome, the handoffs per day, and the review reasons that need them
(``not_helpful``, ``handoff_after_miss``: reasons.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, inspect, or_, select, update
from sqlalchemy.engine import Connection, Engine

from bot.gateway.handoff.store import handoffs as gateway_handoffs
from bot.gateway.ratings import ratings as gateway_ratings
from bot.nlu.cards import redact_shown

from . import reasons
from .store import aware, chunks, day_of, locked_state, set_state, upsert
from .tables import conversations, days, handoffs, messages, ratings

GATEWAY = "gateway"
OVERLAP = timedelta(minutes=5)
RATED = ("helpful", "not_helpful")


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


class Refresher:
    states = (GATEWAY,)

    def __init__(self, gateway_engine: Engine) -> None:
        self.gateway = gateway_engine
        self._ready = False

    def ready(self) -> bool:
        """The gateway creates its tables on its first start; until then there is nothing to copy."""
        if not self._ready:
            with self.gateway.connect() as gw:
                self._ready = all(inspect(gw).has_table(t.name) for t in (gateway_handoffs, gateway_ratings))
        return self._ready

    def run(self, conn: Connection, touched: set[str]) -> None:
        if not self.ready():
            return
        now = datetime.now(timezone.utc)
        since = datetime.fromtimestamp(locked_state(conn, GATEWAY) / 1_000_000, timezone.utc) - OVERLAP
        senders = sorted(touched | self._changed(since))
        for part in chunks(senders):
            self._refresh(conn, part)
        set_state(conn, GATEWAY, _micros(now))

    def _changed(self, since: datetime) -> set[str]:
        r, h = gateway_ratings.c, gateway_handoffs.c
        with self.gateway.connect() as gw:
            rated = gw.execute(
                select(r.conversation).where(or_(r.offered_at > since, r.answered_at > since)).distinct()
            )
            handed = gw.execute(
                select(h.sender)
                .where(or_(h.created_at > since, h.claimed_at > since, h.closed_at > since, h.escalated_at > since))
                .distinct()
            )
            return {row[0] for row in rated} | {row[0] for row in handed}

    def _refresh(self, conn: Connection, part: Sequence[str]) -> None:
        channels: dict[str, str] = dict(
            conn.execute(
                select(conversations.c.sender, conversations.c.channel).where(conversations.c.sender.in_(part))
            ).all()
        )
        if not channels:
            return  # not indexed yet: its events' run refreshes it
        with self.gateway.connect() as gw:
            rated = gw.execute(select(gateway_ratings).where(gateway_ratings.c.conversation.in_(list(channels)))).all()
            handed = gw.execute(select(gateway_handoffs).where(gateway_handoffs.c.sender.in_(list(channels)))).all()
        rating_rows = [_rating(r._mapping) for r in rated]
        handoff_rows = [_handoff(h._mapping, channels[h.sender]) for h in handed]
        upsert(conn, ratings, rating_rows, ["id"])
        upsert(conn, handoffs, handoff_rows, ["number"])
        self._conversations(conn, channels, rating_rows, handoff_rows)
        per_day = Counter((h["sender"], h["day"]) for h in handoff_rows)
        upsert(
            conn,
            days,
            [
                {
                    "sender": s,
                    "day": d,
                    "channel": channels[s],
                    "handoffs": n,
                    "turns": 0,
                    "fallbacks": 0,
                    "in_scope": 0,
                    "tasks": 0,
                }
                for (s, d), n in per_day.items()
            ],
            ["sender", "day"],
            only=["handoffs"],
        )
        self._reasons(conn, rating_rows, handoff_rows)

    def _conversations(
        self,
        conn: Connection,
        channels: dict[str, str],
        rating_rows: list[dict[str, Any]],
        handoff_rows: list[dict[str, Any]],
    ) -> None:
        state: dict[str, dict[str, Any]] = {s: {"handoff": None, "answered": None, "rating": None} for s in channels}
        for h in sorted(handoff_rows, key=lambda h: h["created_at"]):
            state[h["sender"]]["handoff"] = h["status"]
            state[h["sender"]]["answered"] = bool(state[h["sender"]]["answered"]) or h["claimed_at"] is not None
        for r in sorted(
            (r for r in rating_rows if r["state"] in RATED), key=lambda r: r["answered_at"] or r["offered_at"]
        ):
            state[r["sender"]]["rating"] = r["state"]
        c = conversations.c
        now = conn.execute(
            select(c.sender, c.tasks, c.handoff, c.handoff_answered, c.rating).where(c.sender.in_(list(channels)))
        ).all()
        changes = [
            {
                "s": r.sender,
                "h": v["handoff"],
                "a": v["answered"],
                "r": v["rating"],
                "o": reasons.outcome(r.tasks, v["handoff"]),
            }
            for r in now
            if (v := state[r.sender])
            and (r.handoff, r.handoff_answered, r.rating) != (v["handoff"], v["answered"], v["rating"])
        ]
        stmt = (
            update(conversations)
            .where(c.sender == bindparam("s"))
            .values(
                handoff=bindparam("h"), handoff_answered=bindparam("a"), rating=bindparam("r"), outcome=bindparam("o")
            )
        )
        if changes:  # most conversations have neither a rating nor a handoff: nothing to write
            conn.execute(stmt, changes)

    def _reasons(self, conn: Connection, rating_rows: list[dict[str, Any]], handoff_rows: list[dict[str, Any]]) -> None:
        """``handoff_after_miss`` and ``not_helpful`` on the messages they name."""
        unhelpful = [r for r in rating_rows if r["state"] == "not_helpful"]
        senders = sorted({r["sender"] for r in unhelpful} | {h["sender"] for h in handoff_rows})
        if not senders:
            return
        said: dict[str, list[dict[str, Any]]] = {}
        query = select(
            messages.c.id,
            messages.c.sender,
            messages.c.at,
            messages.c.intent,
            messages.c.fallback,
            messages.c.task,
            messages.c.review,
        )
        for row in conn.execute(query.where(messages.c.sender.in_(senders)).order_by(messages.c.at, messages.c.id)):
            said.setdefault(row.sender, []).append({**row._mapping, "at": aware(row.at)})
        marks: dict[int, str | None] = {m["id"]: m["review"] for ms in said.values() for m in ms}
        current = dict(marks)
        for h in handoff_rows:
            before = [m for m in said.get(h["sender"], []) if m["at"] <= h["created_at"]]
            if (i := reasons.miss_before_handoff([bool(m["fallback"]) for m in before])) is not None:
                marks[before[i]["id"]] = reasons.stronger(marks[before[i]["id"]], "handoff_after_miss")
        for r in unhelpful:
            start = _task_start(said.get(r["sender"], []), r, [h for h in handoff_rows if h["sender"] == r["sender"]])
            if start is not None:
                marks[start["id"]] = reasons.stronger(marks[start["id"]], "not_helpful")
        changes = [{"i": i, "r": review} for i, review in marks.items() if review != current[i]]
        if changes:
            conn.execute(update(messages).where(messages.c.id == bindparam("i")).values(review=bindparam("r")), changes)


def _task_start(
    said: list[dict[str, Any]], rating: dict[str, Any], handed: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The customer message that started the rated task (reasons.task_start)."""
    if rating["task"] == "handoff_closed":
        closed = [h for h in handed if h["closed_at"] is not None and h["closed_at"] <= rating["offered_at"]]
        until = max(closed, key=lambda h: h["closed_at"])["created_at"] if closed else rating["offered_at"]
        upto = [m for m in said if m["at"] <= until]
    else:
        done = [i for i, m in enumerate(said) if m["task"] == rating["task"] and m["at"] <= rating["offered_at"]]
        upto = said[: done[-1] + 1] if done else []
    return upto[reasons.task_start([m["intent"] for m in upto])] if upto else None


def _rating(m: Any) -> dict[str, Any]:
    answered = aware(m["answered_at"]) if m["answered_at"] is not None else None
    offered = aware(m["offered_at"])
    return {
        "id": m["id"],
        "sender": m["conversation"],
        "channel": m["channel"],
        "task": m["task"],
        "state": m["state"],
        "comment": redact_shown(m["comment"])[0] if m["comment"] else None,
        "offered_at": offered,
        "answered_at": answered,
        "day": day_of(answered or offered),
    }


def _handoff(m: Any, channel: str) -> dict[str, Any]:
    created = aware(m["created_at"])
    return {
        "number": m["number"],
        "sender": m["sender"],
        "channel": channel,
        "queue": m["queue"],
        "status": m["status"],
        "claimed_by": m["claimed_name"] or m["claimed_by"],
        "created_at": created,
        "claimed_at": aware(m["claimed_at"]) if m["claimed_at"] is not None else None,
        "closed_at": aware(m["closed_at"]) if m["closed_at"] is not None else None,
        "day": day_of(created),
    }
