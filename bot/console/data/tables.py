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
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

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
    Index("ix_console_conversations_last", "last_at"),
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
    # Why it is in the review inbox, if it is: fallback, low_confidence, declined_suggestion,
    # not_helpful, handoff_after_miss (review.py defines each)
    Column("review", String(24)),
    Column("label", String(64)),  # the reviewer's intent, or out_of_scope
    Column("labelled_by", String(254)),
    Column("labelled_at", DateTime(timezone=True)),
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
