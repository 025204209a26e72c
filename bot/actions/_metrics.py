"""The action server's Prometheus metrics (served by bot/telemetry/metrics_http.py,
docs/operations.md). Labels are closed sets: action names (Rasa's, of the domain), the channels of
bot/actions/_identity.py, the kinds of confirmation (bot/actions/confirm.py), handoff queues
(sales, support) and the billing client's error classes; never a customer, an org or an amount."""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

_ACTION_NAME = re.compile(r"(?:action|validate|utter)_[a-z0-9_]{1,60}")

ACTIONS = Counter(
    "assistant_actions",
    "Custom actions run, by action and outcome: ok, failed (an error of ours: the customer was told "
    "something went wrong), rejected (a form's validation refused), not_found.",
    ["action", "outcome"],
)
ACTION_SECONDS = Histogram(
    "assistant_action_seconds",
    "Time to run a custom action, billing calls included.",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BILLING_ERRORS = Counter(
    "assistant_billing_errors",
    "Billing calls of an action that failed, by kind: Forbidden, NotFound, Conflict, Invalid, "
    "PaymentFailed (refusals explained to the customer), Unavailable (billing down or slow), BillingError.",
    ["kind"],
)
CONFIRMATIONS = Counter(
    "assistant_confirmations",
    "Answers to a pending confirmation (a quote, a payment, a request for a person...), by kind and answer.",
    ["kind", "answer"],
)
ORDERS = Counter("assistant_orders", "Orders placed through the assistant (licenses, products).", ["channel"])
PAYMENTS = Counter(
    "assistant_payments", "Invoice payments through the assistant, by outcome: paid, declined.", ["channel", "outcome"]
)
KEPT_EVENTS = Counter(
    "assistant_action_calls_by_events",
    "Rasa's calls by the events they carried (bot/kept_events.py): whole (the whole session), since "
    "(only those after the events kept here), unknown (built on events not kept here: sent again whole).",
    ["kind"],
)
HANDOFFS = Counter("assistant_handoffs", "Handoffs to a person opened by the assistant.", ["queue", "channel"])

BILLING_ERROR_KINDS = frozenset(
    {"Forbidden", "NotFound", "Conflict", "Invalid", "PaymentFailed", "Unavailable", "Unauthorized", "BillingError"}
)
QUEUES = frozenset({"sales", "support"})


def action_label(name: object) -> str:
    return name if isinstance(name, str) and _ACTION_NAME.fullmatch(name) else "other"


def billing_error(error: BaseException) -> None:
    kind = type(error).__name__
    BILLING_ERRORS.labels(kind if kind in BILLING_ERROR_KINDS else "BillingError").inc()


def handoff_opened(queue: object, channel: str) -> None:
    HANDOFFS.labels(queue if isinstance(queue, str) and queue in QUEUES else "other", channel).inc()
