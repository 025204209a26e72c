"""The console's definitions, in one place: which conversations the assistant could have handled
(``in_scope``), how a conversation ended (``outcome``), and why a customer message is in the review
inbox (``review reasons``). Plain functions over plain values: the indexer (index.py) applies them,
tests call them directly, and ``DEFINITIONS`` is the text the overview page prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.rasa_server.turn_facts import FALLBACK_ACTIONS, FALLBACK_INTENT

# Intents that ask the assistant for nothing it does: small talk, answers to its questions, and
# what it did not understand. A conversation with only these was never in scope.
NOT_REQUESTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "bot_challenge",
        "help",
        "inform",
        "out_of_scope",
        "give_card_number",
        FALLBACK_INTENT,
    }
)
# Answers to the assistant's own question: they carry on the task an earlier message started.
ANSWERS = frozenset({"affirm", "deny", "inform", "give_card_number"})
# Under this the intent was a guess, though over the FallbackClassifier's 0.3 (config.yml): 0.6 is
# the bar bot/actions/basics.py treats as "sure enough" for a purchase (PURCHASE_SURE). The
# StateChangeGuard's 0.85 is a bar for changing money, not for understanding: a 0.7 "show my
# invoices" was understood.
LOW_CONFIDENCE = 0.6
# A handoff opened within this many customer messages after a miss is counted as caused by it.
HANDOFF_AFTER = 3

Reason = str  # one of REASONS
# When one message has several reasons, the inbox shows the most telling one (first here).
REASONS: tuple[Reason, ...] = (
    "handoff_after_miss",
    "not_helpful",
    "declined_suggestion",
    "out_of_scope_retried",
    "fallback",
    "low_confidence",
)

DEFINITIONS = {
    "conversations": "Conversations with at least one customer message in the period (a conversation "
    "is one Rasa sender id: a widget visitor or signed-in customer, a Slack user).",
    "in_scope": "Conversations the assistant could have handled: at least one customer message asked "
    "for something it does (not only greetings, thanks, yes/no answers, out-of-scope questions "
    "or messages it did not understand).",
    "contained": "In-scope conversations in which a task was completed (an order placed, an invoice paid "
    "or emailed, billing details updated, a case opened, a callback booked) and no person was "
    "handed the conversation.",
    "containment": "Contained / in scope.",
    "handoffs": "Handoffs to a person opened in the period; answered: a rep claimed it; closed: a rep closed it.",
    "fallback_turns": "Customer messages the assistant did not understand (NLU fallback, or a fallback "
    "action answered them), out of all customer messages (turns).",
    "ratings": "Ratings answered in the period (offered after a completed task or a closed handoff).",
    "orders": "Orders placed through the assistant in the period, and their invoiced amount per currency.",
}


def in_scope(intent: str | None) -> bool:
    """A message that asked for something the assistant does."""
    return bool(intent) and intent not in NOT_REQUESTS


def outcome(tasks: int, handoff: str | None) -> str:
    """completed: a task done and no handoff (contained); handoff: a person was handed it;
    abandoned: neither."""
    if handoff:
        return "handoff"
    return "completed" if tasks > 0 else "abandoned"


def contained(in_scope_: bool, tasks: int, handoff: str | None) -> bool:
    return in_scope_ and outcome(tasks, handoff) == "completed"


def is_fallback(intent: str | None, actions: Sequence[str]) -> bool:
    """``fallback``: the message got nlu_fallback, or a fallback action answered it."""
    return intent == FALLBACK_INTENT or any(a in FALLBACK_ACTIONS for a in actions)


def is_low_confidence(intent: str | None, confidence: float | None) -> bool:
    """``low_confidence``: understood, but under LOW_CONFIDENCE (a fallback is reported as such)."""
    return intent not in (None, FALLBACK_INTENT) and confidence is not None and confidence < LOW_CONFIDENCE


def retried_after_out_of_scope(previous_intent: str | None, intent: str | None) -> bool:
    """``out_of_scope_retried`` (of the earlier message): it was answered as out of scope, and the
    customer's next message asked for something the assistant does, or for a person. The model's
    commonest miss on unfamiliar wording is an in-scope request taken for out of scope with
    confidence: no fallback and no low confidence mark it, the customer asking again does. A new
    topic after a true out-of-scope question lands here too; the reviewer marks it out of scope."""
    return previous_intent == "out_of_scope" and in_scope(intent)


# The buttons a fallback offers whatever the message was (basics.py's PERSON_BUTTONS): not a guess.
PERSON_INTENTS = frozenset({"talk_to_human", "request_callback"})


@dataclass(frozen=True)
class Suggestion:
    """A "did you mean ...?": the intents its buttons offered."""

    intents: frozenset[str]


def suggestion(fell_back: bool, offered: Sequence[str | None]) -> Suggestion | None:
    """A fallback's answer with buttons for guessed requests is a "did you mean ...?" (the person
    buttons alone are not a guess)."""
    intents = frozenset(i for i in offered if i)
    return Suggestion(intents) if fell_back and intents - PERSON_INTENTS else None


def declined(suggestion: Suggestion, next_intent: str | None) -> bool:
    """``declined_suggestion`` (of the message the suggestion answered): the customer's next message
    said no, or asked for something none of the buttons offered (a "yes" takes the first one)."""
    if next_intent == "deny":
        return True
    return next_intent not in suggestion.intents and next_intent != "affirm"


def task_start(intents: Sequence[str | None]) -> int:
    """``not_helpful`` marks the message that started the rated task: of the messages up to the one
    the task completed in (oldest first), the last request before the answers that carried it on
    ("add 5 licenses" before "yes"). Its index in ``intents``."""
    for i in range(len(intents) - 1, -1, -1):
        if intents[i] not in ANSWERS:
            return i
    return len(intents) - 1


def miss_before_handoff(missed: Sequence[bool]) -> int | None:
    """``handoff_after_miss``: of the last HANDOFF_AFTER customer messages before a handoff opened
    (oldest first), the latest that was a miss; its index. A miss is a fallback, and a declined
    suggestion is one too (the assistant suggests only when it fell back)."""
    first = max(len(missed) - HANDOFF_AFTER, 0)
    for i in range(len(missed) - 1, first - 1, -1):
        if missed[i]:
            return i
    return None


def stronger(current: str | None, new: str | None) -> str | None:
    """The reason the inbox shows when a message has two."""
    if current is None:
        return new
    if new is None:
        return current
    return current if REASONS.index(current) <= REASONS.index(new) else new
