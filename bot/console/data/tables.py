"""The console's own tables, in its own database (``CONSOLE_DATABASE_URL``).

Why an index of its own rather than queries on Rasa's ``events`` table: a tracker is one row per
event with its data as JSON text, so "conversations by channel and outcome this month" would read
every event of the period on every page view; with 100,000 conversations that cannot answer in
300 ms. The indexer (``index.py``) reads new events once, in id order from a watermark, and keeps
one row per conversation and one per customer message. These rows are copies of conversation data:
retention and erasure delete them with the tracker's (``bot/privacy``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine

from bot.tables import create_tables

metadata = MetaData()

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

conversations = Table(
    "console_conversations",
    metadata,
    Column("sender", String(200), primary_key=True),  # Rasa's sender id: the conversation's key everywhere
    Column("channel", String(16), nullable=False),  # widget, slack, other
    Column("customer", String(254)),  # the verified email; None for an anonymous visitor
    Column("org", String(64)),  # billing's organisation id, from the customer's email
    Column("org_name", String(200)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("turns", Integer, nullable=False, default=0),  # customer messages
    Column("fallbacks", Integer, nullable=False, default=0),
    Column("tasks", Integer, nullable=False, default=0),  # completed tasks (bot/telemetry/tasks.py)
    Column("task_names", String(400)),  # space-separated, in order
    # Could the assistant have handled it: at least one message with an in-scope request intent
    # (not greetings, thanks, goodbyes, chitchat, out_of_scope or fallback). The denominators of
    # containment and fallback rates count only these (the definition is printed on the page).
    Column("in_scope", Boolean, nullable=False, default=False),
    Column("handoff", String(16)),  # None, open, claimed, closed (the gateway's handoffs table)
    Column("handoff_answered", Boolean),  # a rep claimed it
    # completed: a task done and no handoff (contained); handoff; abandoned: neither
    Column("outcome", String(16), nullable=False, default="abandoned"),
    Column("rating", String(16)),  # latest answered rating: helpful, not_helpful
    Column("revenue_minor", BigInteger, nullable=False, default=0),  # orders placed, integer minor units
    Column("currency", String(3)),
    Column("orders", Integer, nullable=False, default=0),  # orders placed through the assistant
    Index("ix_console_conversations_last", "last_at", "sender"),  # the search's and the export's order
    Index("ix_console_conversations_channel_last", "channel", "last_at"),
    Index("ix_console_conversations_outcome_last", "outcome", "last_at"),
    Index("ix_console_conversations_customer", "customer"),
    Index("ix_console_conversations_org", "org"),
)

messages = Table(
    "console_messages",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("sender", String(200), nullable=False),
    Column("event_id", BigInteger, nullable=False, unique=True),  # Rasa's events.id of the user event
    Column("at", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("text", Text, nullable=False),  # redacted of card numbers (bot/nlu/cards.py), as stored
    Column("intent", String(64)),
    Column("confidence", Float),  # a model score, not money
    # Why it is in the review inbox, if it is: fallback, low_confidence, declined_suggestion, out_of_scope_retried,
    # not_helpful, handoff_after_miss (reasons.py defines each)
    Column("review", String(24)),
    Column("label", String(64)),  # the reviewer's intent, or out_of_scope
    Column("labelled_by", String(254)),
    Column("labelled_at", DateTime(timezone=True)),
    Column("fallback", Boolean, nullable=False, default=False),  # nlu_fallback, or a fallback action answered
    Column("task", String(32)),  # the task the answer to this message completed (bot/telemetry/tasks.py)
    Index("ix_console_messages_sender", "sender", "at"),
    Index("ix_console_messages_intent_at", "intent", "at"),
    Index("ix_console_messages_review", "review", "label", "at"),
)

index_state = Table(
    "console_index_state",
    metadata,
    Column("name", String(40), primary_key=True),  # e.g. "events": the last Rasa event id read
    Column("value", BigInteger, nullable=False),
)

# The bot's and the reps' lines, for transcripts (the customer's are ``messages``): a bot event of
# Rasa's tracker, a rep's when its metadata names the rep (bot/gateway/handoff/tracker.py).
lines = Table(
    "console_lines",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("sender", String(200), nullable=False),
    Column("event_id", BigInteger, nullable=False, unique=True),  # Rasa's events.id of the bot event
    Column("at", DateTime(timezone=True), nullable=False),
    Column("author", String(8), nullable=False),  # bot, agent
    Column("text", Text, nullable=False),  # redacted
    Column("buttons", Text),  # JSON list of [title, payload] of the buttons shown
    Index("ix_console_lines_sender", "sender", "at"),
)

# One row per conversation and UTC day with a customer message: what the overview's per-day series
# and period figures add up (a Slack conversation, one sender id per user, lasts for months).
days = Table(
    "console_days",
    metadata,
    Column("sender", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("turns", Integer, nullable=False, default=0),
    Column("fallbacks", Integer, nullable=False, default=0),
    Column("in_scope", Integer, nullable=False, default=0),  # in-scope customer messages that day
    Column("tasks", Integer, nullable=False, default=0),
    Column("handoffs", Integer, nullable=False, default=0),  # handoffs opened that day
    Index("ix_console_days_day", "day", "channel"),
)

# Copies of the gateway's handoffs and ratings and of billing's orders placed in a conversation,
# with their UTC day, so the overview counts them by period with an index.
handoffs = Table(
    "console_handoffs",
    metadata,
    Column("number", String(40), primary_key=True),
    Column("sender", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("queue", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # open, claimed, closed
    Column("claimed_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("day", Date, nullable=False),
    Index("ix_console_handoffs_sender", "sender"),
    Index("ix_console_handoffs_day", "day", "channel"),
)

ratings = Table(
    "console_ratings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sender", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("task", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # offered, helpful, not_helpful, dismissed
    Column("comment", Text),  # redacted
    Column("offered_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("day", Date, nullable=False),  # of the answer, else of the offer
    Index("ix_console_ratings_sender", "sender", "offered_at"),
    Index("ix_console_ratings_day", "day", "channel"),
)

orders = Table(
    "console_orders",
    metadata,
    Column("number", String(32), primary_key=True),  # billing's order number
    Column("sender", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("org", String(64)),
    Column("at", DateTime(timezone=True), nullable=False),  # the bot's confirmation
    Column("day", Date, nullable=False),
    # invoiced for it, integer minor units; None until billing has been asked (console scope)
    Column("total_minor", BigInteger),
    Column("currency", String(3)),
    Index("ix_console_orders_sender", "sender"),
    Index("ix_console_orders_day", "day", "channel"),
)

# the tables keyed by conversation (bot/privacy's console store deletes from each)
BY_SENDER = (conversations, messages, lines, days, handoffs, ratings, orders)


def create(engine: Engine) -> None:
    """Create the console's tables where missing (the index is rebuilt from the sources, so a schema
    change is a new table, or dropping these and indexing again); replicas starting at once take
    turns (bot/tables.py)."""
    create_tables(engine, metadata)
