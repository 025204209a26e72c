"""The seam between the console's data layer and its web app: what a page may ask and what it gets.

The web app (bot/console/app.py and its pages) calls only these; the data layer implements them
(``queries.py``: ``ConsoleQueries``; ``review.py``: ``ReviewInbox``). All of them are synchronous
(SQLAlchemy Core): pages call them through ``asyncio.to_thread``. Times are timezone-aware UTC.
Money is integer minor units with its currency. Texts are already redacted of card numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

Channel = Literal["widget", "slack", "other"]
Outcome = Literal["completed", "handoff", "abandoned"]
ReviewReason = Literal[
    "fallback", "low_confidence", "declined_suggestion", "out_of_scope_retried", "not_helpful", "handoff_after_miss"
]
OUT_OF_SCOPE = "out_of_scope"  # the label that marks a line as something the assistant does not do


@dataclass(frozen=True)
class Period:
    """Whole days, both ends included, in UTC."""

    start: date
    end: date


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str


@dataclass
class DayFigures:
    day: date
    conversations: int = 0  # all conversations with a customer message that day
    in_scope: int = 0  # those the assistant could have handled (tables.py: in_scope)
    contained: int = 0  # in scope, a task completed, no handoff
    handoffs: int = 0
    fallbacks: int = 0  # fallback turns
    helpful: int = 0
    not_helpful: int = 0
    orders: int = 0


@dataclass
class Overview:
    period: Period
    channel: Channel | None  # None: all channels
    conversations: int
    in_scope: int
    contained: int  # containment rate = contained / in_scope
    handoffs: int
    handoffs_answered: int  # a rep claimed it
    handoffs_closed: int
    fallback_turns: int
    turns: int
    helpful: int
    not_helpful: int
    orders: int
    revenue: list[Money]  # one per currency, through the assistant
    by_channel: dict[str, int]  # conversations per channel
    days: list[DayFigures]  # one per day of the period, for the charts
    definitions: dict[str, str]  # figure -> how it is counted, printed on the page


@dataclass(frozen=True)
class Filters:
    period: Period | None = None
    channel: Channel | None = None
    org: str | None = None  # organisation id or a part of its name
    customer: str | None = None  # a part of the email
    intent: str | None = None  # any customer message with this intent
    outcome: Outcome | None = None
    rating: Literal["helpful", "not_helpful"] | None = None


@dataclass
class ConversationRow:
    sender: str
    channel: str
    customer: str | None
    org: str | None
    org_name: str | None
    started_at: datetime
    last_at: datetime
    turns: int
    fallbacks: int
    tasks: list[str]
    outcome: str
    handoff: str | None
    rating: str | None
    revenue: Money | None


@dataclass
class Page:
    rows: list[ConversationRow]
    total: int
    offset: int
    limit: int


@dataclass
class TranscriptLine:
    at: datetime
    author: Literal["customer", "bot", "agent", "system"]  # system: an action, a handoff, a rating
    text: str
    intent: str | None = None
    confidence: float | None = None
    buttons: list[str] = field(default_factory=list)  # button titles shown


@dataclass
class Transcript:
    conversation: ConversationRow
    lines: list[TranscriptLine]


class ConsoleQueries(Protocol):
    def overview(self, period: Period, channel: Channel | None = None) -> Overview: ...

    def search(self, filters: Filters, offset: int = 0, limit: int = 50) -> Page: ...

    def transcript(self, sender: str) -> Transcript | None:
        """None when the conversation is unknown (or erased)."""
        ...

    def tables(self) -> list[str]:
        """The names ``export`` accepts (conversations, messages, ratings, handoffs, labels...)."""
        ...

    def export(self, table: str, filters: Filters) -> Iterator[dict[str, object]]:
        """Rows for a CSV download, streamed; ``KeyError`` for an unknown table."""
        ...


@dataclass
class ReviewItem:
    message_id: int
    sender: str
    at: datetime
    text: str
    intent: str | None
    confidence: float | None
    reason: ReviewReason


@dataclass
class ReviewGroup:
    key: str  # stable for the same members (the web app posts it back with a label)
    items: list[ReviewItem]
    suggestion: str | None  # the intent most members were given, if any


class BadLabel(ValueError):
    """An intent the domain does not have, an empty selection, an item already labelled: the
    message says what is wrong; nothing was written."""


class ReviewInbox(Protocol):
    def groups(self, reason: ReviewReason | None = None, limit: int = 50) -> list[ReviewGroup]: ...

    def intents(self) -> list[str]:
        """What a reviewer may choose: the domain's intents, and ``OUT_OF_SCOPE``."""
        ...

    def label(self, message_ids: list[int], intent: str, reviewer: str) -> int:
        """Label these messages and add them to the reviewed-data file (Rasa's NLU format under
        nlu_data/, ready for ``make train``); returns how many lines were added."""
        ...

    def save_test(self, sender: str, name: str, reviewer: str) -> str:
        """Save the conversation as a conversation test; returns the file's path."""
        ...
