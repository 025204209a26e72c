"""The billing backend's Prometheus metrics (served by bot/telemetry/metrics_http.py,
docs/operations.md). ``route`` is the route's template (``/v1/invoices/{number}``), never the path a
caller sent; ``code`` is one of billing's own error codes (bot/billing/domain/errors.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "billing_requests", "API requests, by route template, method and status.", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "billing_request_seconds",
    "Time to answer an API request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ERRORS = Counter(
    "billing_errors",
    "Requests refused or failed, by billing's error code (needs_manage_billing, quote_expired, invalid, "
    "internal, database_unavailable...).",
    ["code"],
)
