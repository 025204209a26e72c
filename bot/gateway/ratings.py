"""A rating at the end of a task: "Did that help?" with Helpful / Not helpful, and after "not
helpful" an optional comment (the customer's next typed message).

**When it is offered.** After a turn that completed a task (bot/actions/_tasks.py lists them: an
order placed, an invoice paid or emailed, billing details updated, a support case opened, a
callback booked; Rasa reports it only when no form or confirmation waits: X-Assistant-Task) and
when a rep closes a handoff (``handoff_closed``). At most one offer per conversation per
``SESSION`` (Rasa's own session length, bot/domain/core.yml): once offered, whether it was rated,
dismissed or ignored, the customer is not asked again in that session. An offer the customer
passes by (they type something else) counts as dismissed.

**Taps never reach the NLU.** Rating buttons are the gateway's own: the widget sends
``{"type": "rate", ...}`` on its socket, Slack a Block Kit action (``rating_*``) with the offer's
id. A "helpful" tap can never be read as "yes" to a pending question, and the offer's id, checked
against this conversation's row, is the only thing a tap can name: a forged or stale id, another
conversation's, or a value not offered changes nothing and gets a clear answer.

**Where it is stored: a table in the gateway's database** (``assistant_ratings``), keyed by the
conversation id (Rasa's sender id, the key of its tracker, of the widget history and of handoffs),
so it is stored with the conversation and joins to its transcript. Not in Rasa's tracker: that would
need the tap to go through Rasa as a message (the NLU path we keep it off) or the gateway to write
tracker events over Rasa's HTTP API, which is not exposed to it; and the staff console needs ratings
by period, channel and outcome, which a tracker (one JSON blob per conversation) cannot answer
without reading every conversation. Indexes cover period, channel+period and outcome+period;
``customer`` (the verified email) joins to billing's users and so to the organisation; Slack rows
also keep the workspace (``team``). Comments are redacted of card numbers (bot/nlu/cards.py) and
capped at ``MAX_COMMENT`` characters (a longer one is refused, not cut, and nothing is stored).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from bot.nlu.cards import REMOVED, TOKEN, redact
from bot.tables import create_tables
from bot.telemetry import tasks

from . import metrics

metadata = MetaData()

ratings = Table(
    "assistant_ratings",
    metadata,
    Column("id", String(32), primary_key=True),  # the offer's id, what a tap names
    Column("conversation", String(64), nullable=False),
    Column("channel", String(16), nullable=False),  # widget, slack
    Column("task", String(32), nullable=False),  # bot/actions/_tasks.py, or handoff_closed
    Column("customer", String(254)),  # the verified email; None for an anonymous visitor
    Column("team", String(32)),  # Slack: the workspace
    Column("state", String(16), nullable=False),  # offered, helpful, not_helpful, dismissed
    Column("comment", Text),
    Column("offered_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("comment_until", DateTime(timezone=True)),  # after "not helpful": the next text is the comment
    Index("ix_assistant_ratings_conversation", "conversation", "offered_at"),
    Index("ix_assistant_ratings_offered_at", "offered_at"),
    Index("ix_assistant_ratings_channel", "channel", "offered_at"),
    Index("ix_assistant_ratings_state", "state", "offered_at"),
)

TASKS = tasks.TASKS | {"handoff_closed"}  # what may be rated: a task, or a handoff closed by a rep
VALUES = ("helpful", "not_helpful")
SKIP = "skip"  # "no comment" after not helpful
SESSION = timedelta(minutes=60)  # bot/domain/core.yml session_expiration_time
COMMENT_WINDOW = timedelta(minutes=15)
MAX_COMMENT = 500  # under the widget's message limit (1000), so a long comment gets this answer

# A conversation's offers still open, or waiting for a comment: asked before every turn, so built once
# (a statement object is keyed for the cache each time one is built).
_OPEN = select(ratings).where(
    ratings.c.conversation == bindparam("conversation"),
    ratings.c.offered_at > bindparam("since"),
    or_(ratings.c.state == "offered", and_(ratings.c.state == "not_helpful", ratings.c.comment_until.isnot(None))),
)

OFFER = "Did that help?"
THANKS = "Thanks for letting us know!"
ASK_COMMENT = (
    "Sorry it didn't help. What went wrong? Your next message goes to our team as a comment "
    "(optional: tap *Skip* to carry on)."
)
COMMENT_SAVED = "Thanks, I've passed that on to the team. Is there anything else I can help with?"
SKIPPED = "No problem. Is there anything else I can help with?"
COMMENT_TOO_LONG = (
    "That comment is too long to keep ({n} characters; at most {max}), so I haven't saved it. "
    "Please shorten it, or tap *Skip*."
)
NOT_OFFERED = "There's no rating waiting for that in this conversation, so nothing was recorded."
ALREADY = "You've already rated that one, thanks. Nothing was changed."
BAD_VALUE = "That rating button isn't one I know, so nothing was recorded."


@dataclass(frozen=True)
class Answer:
    """What a tap or a comment did: ``ok`` False means nothing changed; ``text`` is for the person."""

    ok: bool
    text: str
    value: str | None = None


Divert = Literal["comment", "too_long", "pass"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC)
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class Ratings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, metadata)

    # -- sync (called in a worker thread) ----------------------------------------------------------

    def offer_sync(
        self, conversation: str, channel: str, task: str, *, customer: str | None = None, team: str | None = None
    ) -> str | None:
        """A new offer's id, or None: not a task, or this conversation was offered one in this session."""
        if task not in TASKS:
            return None
        now = _now()
        with self.engine.begin() as conn:
            recent = conn.execute(
                select(ratings.c.id)
                .where(ratings.c.conversation == conversation, ratings.c.offered_at > now - SESSION)
                .limit(1)
            ).first()
            if recent is not None:
                return None
            offer = secrets.token_urlsafe(16)
            conn.execute(
                insert(ratings).values(
                    id=offer,
                    conversation=conversation[:64],
                    channel=metrics.channel_label(channel),
                    task=task,
                    customer=customer[:254] if customer else None,
                    team=team[:32] if team else None,
                    state="offered",
                    offered_at=now,
                )
            )
        metrics.RATINGS.labels(metrics.channel_label(channel), "offered").inc()
        return offer

    def rate_sync(self, conversation: str, offer: object, value: object) -> Answer:
        """A tap on an offer of this conversation: helpful, not_helpful, or skip (the comment)."""
        if not isinstance(offer, str) or not isinstance(value, str) or value not in (*VALUES, SKIP):
            return Answer(False, BAD_VALUE if isinstance(offer, str) else NOT_OFFERED)
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(ratings).where(ratings.c.id == offer[:32], ratings.c.conversation == conversation)
            ).first()
            if row is None:
                return Answer(False, NOT_OFFERED)
            if value == SKIP:
                if row.state != "not_helpful" or row.comment_until is None:
                    return Answer(False, ALREADY if row.state != "offered" else NOT_OFFERED)
                conn.execute(update(ratings).where(ratings.c.id == row.id).values(comment_until=None))
                return Answer(True, SKIPPED, SKIP)
            # An offer passed by (dismissed) may still be rated with its button: the customer chose to.
            if row.state not in ("offered", "dismissed"):
                return Answer(False, ALREADY)
            done = conn.execute(
                update(ratings)
                .where(ratings.c.id == row.id, ratings.c.state.in_(("offered", "dismissed")))
                .values(
                    state=value,
                    answered_at=now,
                    comment_until=now + COMMENT_WINDOW if value == "not_helpful" else None,
                )
            )
            if done.rowcount != 1:  # a double click on another replica got there first
                return Answer(False, ALREADY)
        metrics.RATINGS.labels(row.channel, value).inc()
        return Answer(True, ASK_COMMENT if value == "not_helpful" else THANKS, value)

    def before_turn_sync(self, conversation: str, text: str, *, typed: bool) -> tuple[Divert, Answer | None]:
        """Called with each customer message before it goes to Rasa. While a comment is awaited, a
        typed message is the comment (``comment``: stored, not sent to Rasa; ``too_long``: refused,
        nothing stored); a button ends the wait. An open offer passed by is dismissed."""
        now = _now()
        with self.engine.begin() as conn:
            rows = conn.execute(_OPEN, {"conversation": conversation, "since": now - SESSION - COMMENT_WINDOW}).all()
            for row in rows:
                if row.state == "offered":
                    conn.execute(
                        update(ratings)
                        .where(ratings.c.id == row.id, ratings.c.state == "offered")
                        .values(state="dismissed", answered_at=now)
                    )
                    metrics.RATINGS.labels(row.channel, "dismissed").inc()
                    continue
                until = _aware(row.comment_until)
                if not typed or until is None or until <= now:
                    conn.execute(update(ratings).where(ratings.c.id == row.id).values(comment_until=None))
                    continue
                if len(text) > MAX_COMMENT:
                    return "too_long", Answer(False, COMMENT_TOO_LONG.format(n=len(text), max=MAX_COMMENT))
                # The channels hand Rasa's text (a card already a token): shown as people see it.
                comment = redact(text)[0].replace(TOKEN, REMOVED)
                conn.execute(update(ratings).where(ratings.c.id == row.id).values(comment=comment, comment_until=None))
                return "comment", Answer(True, COMMENT_SAVED)
        return "pass", None

    def get_sync(self, offer: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ratings).where(ratings.c.id == offer)).first()
        return dict(row._mapping) if row is not None else None

    def of_conversation_sync(self, conversation: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ratings).where(ratings.c.conversation == conversation).order_by(ratings.c.offered_at)
            ).all()
        return [dict(r._mapping) for r in rows]

    # -- async ------------------------------------------------------------------------------------

    async def offer(
        self, conversation: str, channel: str, task: str, *, customer: str | None = None, team: str | None = None
    ) -> str | None:
        return await asyncio.to_thread(self.offer_sync, conversation, channel, task, customer=customer, team=team)

    async def rate(self, conversation: str, offer: object, value: object) -> Answer:
        return await asyncio.to_thread(self.rate_sync, conversation, offer, value)

    async def before_turn(self, conversation: str, text: str, *, typed: bool) -> tuple[Divert, Answer | None]:
        return await asyncio.to_thread(self.before_turn_sync, conversation, text, typed=typed)
