"""Settings from environment variables, with safe defaults for a laptop."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'data' / 'billing.sqlite3'}"
    # Comma-separated tokens that callers (action server, gateway) present as Bearer tokens.
    billing_service_tokens: str = "dev-service-token"
    # Key for signed links (invoice PDFs, payment-method page). Set a long random value in production.
    billing_signing_key: str = "dev-signing-key-change-me"
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

    @property
    def service_tokens(self) -> set[str]:
        return {t.strip() for t in self.billing_service_tokens.split(",") if t.strip()}


@lru_cache
def get_settings() -> Settings:
    return Settings()
