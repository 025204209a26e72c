"""Console settings from environment variables, with safe defaults for a laptop (``make run``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("viewer", "reviewer", "admin")  # each can do what the one before it can, and more


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    console_host: str = "127.0.0.1"
    console_port: int = 8090
    # The address staff's browsers reach the console at: the OpenID redirect URI is built from it
    # (``<url>/console/auth/callback``, registered with the Slack app).
    console_public_url: str = "http://127.0.0.1:8090"
    # The console's own tables: its index of conversations (bot/console/data), staff, sessions, audit.
    console_database_url: str = f"sqlite:///{ROOT / 'data' / 'console.sqlite3'}"
    # What it indexes, read only: Rasa's tracker store (a SQLAlchemy URL, or RASA_TRACKER_DB, a SQLite
    # path, as make run sets it) and the gateway's tables (ratings, handoffs, widget history).
    rasa_tracker_url: str = ""
    rasa_tracker_db: str = ""
    gateway_database_url: str = f"sqlite:///{ROOT / 'data' / 'gateway.sqlite3'}"
    # The indexer runs in the background this often (never on a request's path); 0: not at all.
    console_index_interval_s: float = 5.0
    # Billing, for organisations and orders: the console's own read-only token (bot/billing/api/callers.py).
    billing_url: str = "http://127.0.0.1:8001"
    billing_console_token: str = "dev-billing-console-token"
    # A customer's data export and erasure go through the gateway's privacy admin API
    # (bot/privacy/api.py), reached on a gateway's own port from inside the network, never through
    # the public balancer; its token is the console's. Empty token: the admin page says it is off.
    gateway_url: str = "http://127.0.0.1:8080"
    privacy_admin_token: str = ""
    privacy_timeout_s: float = 60.0

    # -- sign-in with Slack (OpenID Connect) ----------------------------------------------------------
    # The provider: discovery at <issuer>/.well-known/openid-configuration names the endpoints.
    console_oidc_issuer: str = "https://slack.com"
    console_oidc_client_id: str = ""
    console_oidc_client_secret: str = ""
    console_oidc_timeout_s: float = 10.0
    # The vendor's own workspace: an ID token from any other team is refused.
    console_slack_team: str = ""
    # Admins whatever the staff table says: Slack user ids and/or emails, comma-separated.
    console_admins: str = ""
    # The role of anyone else in the workspace at first sign-in; "none": they may not sign in until
    # an admin gives them a role.
    console_default_role: str = "viewer"
    # Signs the session cookie (HS256) and the CSRF tokens. A long random value in production.
    console_session_key: str = "dev-console-session-key-change-me-32b"
    console_session_hours: float = 12.0
    # make run only: how long its one-time admin sign-in link (CONSOLE_DEV_SIGNIN_TOKEN) stays valid.
    console_dev_link_minutes: float = 15.0

    # -- the review loop -----------------------------------------------------------------------------
    console_reviewed_file: Path = ROOT / "nlu_data" / "reviewed.yml"
    console_tests_dir: Path = ROOT / "tests" / "conversations"
    console_domain_dir: Path = ROOT / "bot" / "domain"

    @property
    def admins(self) -> set[str]:
        return {item.strip().lower() for item in self.console_admins.split(",") if item.strip()}

    @property
    def secure_cookies(self) -> bool:
        return self.console_public_url.startswith("https://")


@lru_cache
def get_settings() -> ConsoleSettings:
    return ConsoleSettings()
