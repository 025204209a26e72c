"""What operators see of every service: one request id per customer turn (request_ids.py), log lines
as JSON or text (logs.py) and the Prometheus endpoint (metrics_http.py). Each service defines its own
metrics next to its code (bot/gateway/metrics.py, bot/billing/metrics.py, bot/actions/_metrics.py).
Imports cleanly in both environments (docs/operations.md)."""

# The environment variables this package reads, in whichever service it runs (the deploy tests
# check that every variable a container gets is read by its code).
ENVIRONMENT = ("LOG_FORMAT", "METRICS_HOST", "METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR")
