"""`python -m bot.billing`: refuse unsafe production settings, migrate, seed on first start if asked
(development), serve the API."""

from __future__ import annotations

import logging

import uvicorn

from bot.nlu.cards import redact_logs
from bot.settings_check import in_production, refuse_unsafe
from bot.telemetry import logs
from bot.telemetry.metrics_http import serve_metrics

from .adapters.db import Database
from .api.app import create_app
from .api.callers import CallerConfigError, load_callers
from .clock import clock_from_settings
from .config import Settings, get_settings
from .migrate import upgrade
from .seed import is_seeded, seed


def unsafe_settings(settings: Settings) -> None:
    """In production, stop on development or example secrets, on the demo seed and on a pinned
    clock."""
    secrets = {
        "BILLING_SIGNING_KEY": settings.billing_signing_key,
        # each caller's own token (bot/billing/api/callers.py)
        "BILLING_ACTIONS_TOKEN": settings.billing_actions_token,
        "BILLING_GATEWAY_TOKEN": settings.billing_gateway_token,
    }
    if settings.billing_console_token:  # optional: the console's read token, checked when set
        secrets["BILLING_CONSOLE_TOKEN"] = settings.billing_console_token
    others = []
    if settings.seed_on_start:
        others.append("SEED_ON_START=true would load the demo customers (alex@acme.example...) into production")
    if settings.billing_now.strip():
        # A pinned clock in production would freeze due dates, overdue flags and link expiries.
        others.append("BILLING_NOW pins the billing clock (development and tests only); production uses the real time")
    refuse_unsafe("billing", secrets, others)


def main() -> None:
    log_format = logs.configure("billing")
    redact_logs()
    settings = get_settings()
    unsafe_settings(settings)
    try:
        load_callers(settings)  # shared or old-style caller tokens: refused before anything else
    except CallerConfigError as error:
        raise SystemExit(f"billing: {error}") from None
    upgrade(settings.database_url)
    db = Database.connect(settings.database_url, clock=clock_from_settings(settings))
    if settings.seed_on_start:
        with db.session(write=True) as s:
            if not is_seeded(s):
                seed(s)
                logging.getLogger("billing").info("seeded the demo catalog and customers")
    base = f"http://{settings.billing_host}:{settings.billing_port}"
    docs = "" if in_production() else f"\n  OpenAPI docs:  {base}/docs"
    if (where := serve_metrics()) is not None:
        docs += f"\n  Metrics:       http://{where[0]}:{where[1]}/metrics"
    print(f"\n  Billing API:   {base}/v1/catalog{docs}\n", flush=True)
    uvicorn.run(
        create_app(db),
        host=settings.billing_host,
        port=settings.billing_port,
        log_level="info",
        # JSON: uvicorn's loggers go through the root logger's JSON lines; text: uvicorn's own format
        log_config=None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )


if __name__ == "__main__":
    main()
