"""Settings from environment variables, with safe defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'data' / 'billing.sqlite3'}"
    # Each calling service has its own Bearer token; what each may do is in bot/billing/api/callers.py
    # (only the action server acts as any customer). The caller sets the same variable on its side.
    # Empty: that caller is refused. Another caller (the console's read token): a scope entry there
    # and a ``billing_<name>_token`` field here. Development values; production sets long random ones.
    billing_actions_token: str = "dev-service-token"
    billing_gateway_token: str = "dev-billing-gateway-token"
    # The staff console's read-only token (console:read). Empty: no console caller (make run's
    # launcher sets dev-billing-console-token; production needs a long random one when it is set).
    billing_console_token: str = ""
    # Replaced by the per-caller tokens above; still set, it stops billing at start (callers.py).
    billing_service_tokens: str = ""
    # Key for signed links (invoice PDFs, payment-method page). Set a long random value in production.
    billing_signing_key: str = "dev-signing-key-change-me-32-bytes"
    billing_public_url: str = "http://127.0.0.1:8001"
    billing_host: str = "127.0.0.1"
    billing_port: int = 8001
    # smtp://user:pass@host:port (smtps:// for TLS). Empty: mails are written to data/outbox/.
    smtp_url: str = ""
    smtp_timeout_s: float = 10.0
    vendor_name: str = "Vendor Cloud"
    mail_from: str = "Billing <billing@vendor.example>"
    outbox_dir: Path = ROOT / "data" / "outbox"
    quote_ttl_minutes: int = 30
    download_link_ttl_minutes: int = 15
    card_link_ttl_minutes: int = 15
    invoice_net_days: int = 30
    # Load the demo catalog and customers into an empty database at start: make run sets it
    # (SEED_ON_START=true); production refuses it (bot/settings_check.py).
    seed_on_start: bool = False
    # Development and tests only: pin the billing clock at this instant (ISO 8601 with its offset,
    # e.g. 2026-12-06T15:00:00Z) so dates, overdue invoices and expiries don't depend on the day it
    # runs (bot/billing/clock.py). Production refuses to start with it set (__main__.py).
    billing_now: str = ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
