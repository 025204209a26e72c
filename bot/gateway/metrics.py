"""The gateway's Prometheus metrics (served by bot/telemetry/metrics_http.py, docs/operations.md).

Labels are closed sets, never a user, a conversation or text: ``channel`` is slack, widget or other;
``intent`` is a name of the domain's intents as Rasa's gateway channel reports it (names it does not
know arrive as ``other``); ``outcome`` and ``reason`` are the few values written here.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CHANNELS = frozenset({"slack", "widget"})
# Slack's X-Slack-Retry-Reason values (api.slack.com/apis/events-api, "Retries").
RETRY_REASONS = frozenset({"http_timeout", "too_many_redirects", "connection_failed", "ssl_error", "http_error"})
# Up to Rasa's 20 s turn timeout (RASA_TIMEOUT_S); a turn is usually well under a second.
TURN_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0)

TURNS = Counter(
    "assistant_turns",
    "Customer messages the gateway sent to the assistant (Rasa), by channel and outcome: answered, "
    "or unavailable (Rasa down, too slow or failing: the customer was told nothing changed).",
    ["channel", "outcome"],
)
TURN_SECONDS = Histogram(
    "assistant_turn_seconds",
    "Time from a customer message reaching Rasa to its answer, by channel.",
    ["channel"],
    buckets=TURN_BUCKETS,
)
INTENTS = Counter("assistant_intents", "Answered turns by the intent Rasa understood.", ["channel", "intent"])
FALLBACKS = Counter(
    "assistant_fallbacks",
    "Answered turns in which the assistant did not understand (the fallback: 'did you mean...?').",
    ["channel"],
)
SLACK_RETRIES = Counter(
    "assistant_slack_retries",
    "Slack event deliveries that were retries of one Slack had sent before (X-Slack-Retry-Num), by "
    "Slack's reason; the gateway acts on each event once.",
    ["reason"],
)
RATINGS = Counter(
    "assistant_ratings",
    "Ratings at the end of a task (bot/gateway/ratings.py), by channel and value: offered, helpful, "
    "not_helpful, dismissed (an offer passed by).",
    ["channel", "value"],
)
WIDGET_CONNECTIONS = Gauge("assistant_widget_connections", "Widget WebSockets open on this gateway now.")
WIDGET_CONNECTIONS_OPENED = Counter("assistant_widget_connections_opened", "Widget WebSockets accepted.")


def channel_label(channel: object) -> str:
    return channel if isinstance(channel, str) and channel in CHANNELS else "other"


def retry_reason(reason: str | None) -> str:
    return reason if reason in RETRY_REASONS else "other"


def turn_answered(channel: str, seconds: float, intent: str | None, fallback: bool) -> None:
    TURNS.labels(channel, "answered").inc()
    TURN_SECONDS.labels(channel).observe(seconds)
    INTENTS.labels(channel, intent or "unknown").inc()
    if fallback:
        FALLBACKS.labels(channel).inc()


def turn_unavailable(channel: str, seconds: float) -> None:
    TURNS.labels(channel, "unavailable").inc()
    TURN_SECONDS.labels(channel).observe(seconds)
