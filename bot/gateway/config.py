"""Gateway settings from environment variables, with safe defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # The address people's browsers and Slack reach the gateway at (links, widget.js, OAuth redirect).
    gateway_public_url: str = "http://127.0.0.1:8080"
    # Gateway state: dedupe keys and sessions. PostgreSQL in production (several gateways).
    gateway_database_url: str = f"sqlite:///{ROOT / 'data' / 'gateway.sqlite3'}"
    # Several gateway replicas: a widget message produced on one reaches the visitor's socket on
    # another through Redis pub/sub (bot/gateway/fanout.py), e.g. redis://127.0.0.1:6379/0. Empty: one
    # process (make run). The channel is "<prefix>:widget"; every Redis call gives up after the timeout.
    gateway_redis_url: str = ""
    gateway_redis_prefix: str = "aa"
    gateway_redis_timeout_s: float = 2.0
    # Redis AUTH, which production requires: a user and its password (a Redis ACL user), or only the
    # password (Redis's requirepass). Apart from the URL, which gets logged.
    gateway_redis_username: str = ""
    gateway_redis_password: str = ""
    # Signs the fan-out's events (HMAC-SHA256, bot/gateway/fanout.py): the same on every replica of one
    # deployment; events signed with another key are ignored. A long random value in production.
    gateway_fanout_key: str = "dev-gateway-fanout-key-change-me-32b"

    # Rasa's gateway channel (bot/rasa_server/channel.py) and the token it checks.
    rasa_webhook_url: str = "http://127.0.0.1:5005/webhooks/gateway/webhook"
    gateway_token: str = "dev-gateway-token"
    # A turn waits for Rasa, the action server and billing; billing calls give up after 5 s.
    rasa_timeout_s: float = 20.0
    # Rasa's HTTP API (rasa run --enable-api, RASA_API_TOKEN): the handoff bridge pauses and resumes
    # a conversation there and records what the customer and the rep say while a person has it.
    # Each call may take this long; an unreachable Rasa never holds up the relay.
    rasa_api_url: str = "http://127.0.0.1:5005"
    rasa_api_token: str = "dev-rasa-api-token"
    rasa_api_timeout_s: float = 3.0

    # The billing backend, for what the gateway reads itself (App Home, its Slack identity check,
    # handoff notices, linking a workspace on OAuth install; the demo pricing page's public catalog).
    # The gateway's own token: billing lets it read those only, never act as a customer
    # (bot/billing/api/callers.py). The same BILLING_GATEWAY_TOKEN is set on billing's side.
    billing_url: str = "http://127.0.0.1:8001"
    billing_gateway_token: str = "dev-billing-gateway-token"

    # -- the website widget (bot/gateway/widget) ------------------------------------------------
    # Pages allowed to open the widget's WebSocket: comma-separated origins (scheme://host[:port]).
    # Empty: only the gateway's own origin (the demo page). "*" allows any origin (never in production).
    widget_allowed_origins: str = ""
    # Key that signs anonymous visitor ids. Set a long random value in production.
    widget_signing_key: str = "dev-widget-signing-key-change-me"
    # Logged-in customers: the vendor's site signs a JWT; HS256 (shared secret) or RS256 (public key).
    widget_jwt_algorithm: str = "HS256"
    widget_jwt_secret: str = "dev-widget-jwt-secret-change-me-32b"  # HS256
    widget_jwt_public_key: str = ""  # RS256: PEM text, or a path to a PEM file
    widget_jwt_private_key: str = ""  # RS256, demo page only: to mint the demo login's token
    widget_jwt_audience: str = "account-assistant"
    widget_jwt_issuer: str = "https://vendor.example"
    widget_jwt_leeway_s: int = 30
    # Abuse limits: messages per minute per visitor and per client IP, connections per minute per IP.
    widget_max_message_chars: int = 1000
    widget_rate_per_visitor: int = 20
    widget_rate_per_ip: int = 60
    widget_connects_per_ip: int = 30
    # History kept server-side, restored on reload and shared between tabs.
    widget_history_days: int = 30
    widget_history_limit: int = 200
    # The demo pricing page at the gateway root, and its "logged in" variant (a demo JWT).
    widget_demo_page: bool = True
    widget_demo_user: str = "alex@acme.example"
    widget_demo_user_name: str = "Alex Rivera"

    # -- retention and erasure (bot/privacy, docs/privacy.md) ----------------------------------------
    # Conversations idle for longer than this are deleted by `python -m bot.privacy retention`.
    retention_days: float = 90.0
    retention_batch: int = 500  # conversations per batch (one short transaction per store)
    # Rasa's tracker store, which the job and the admin API delete from: a SQLAlchemy URL
    # (postgresql://...), or RASA_TRACKER_DB (a SQLite path, as make run sets it). Neither: the
    # admin API refuses to erase (it would miss Rasa's copy).
    rasa_tracker_url: str = ""
    rasa_tracker_db: str = ""
    # The staff console's index (bot/console/data/tables.py): a SQLAlchemy URL. Set, retention and the
    # admin API's export and erasure cover it too (its rows are copies of conversations); empty, the
    # deployment has no console.
    console_database_url: str = ""
    # The admin API's token (the staff console's): empty, the API is not served at all. Compared in
    # constant time; production refuses a development, example or short one (__main__.py).
    privacy_admin_token: str = ""

    # -- Slack (bot/gateway/slack) ------------------------------------------------------------------
    # Nothing set: the Slack routes are not mounted. One workspace: SLACK_BOT_TOKEN (xoxb-) with
    # SLACK_SIGNING_SECRET (HTTP Events API) and/or SLACK_APP_TOKEN (xapp-, Socket Mode). Many
    # workspaces: SLACK_CLIENT_ID + SLACK_CLIENT_SECRET + SLACK_SIGNING_SECRET (OAuth install at
    # /slack/install; installations kept in the gateway database).
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    # the manifest's scopes (tests/gateway/test_slack_manifest.py derives them from the code)
    slack_scopes: str = (
        "app_mentions:read,channels:history,chat:write,commands,groups:history,im:history,"
        "im:write,reactions:write,users:read,users:read.email"
    )
    # Slack's Web API (tests point this at a local mock) and how long one call may take.
    slack_api_url: str = "https://slack.com/api/"
    slack_api_timeout_s: float = 10.0
    slack_rate_limit_retries: int = 3  # 429s honoured (Retry-After) before a post is given up
    # A turn slower than this gets a "working on it" reaction on the user's message.
    slack_slow_turn_s: float = 2.0
    slack_working_reaction: str = "hourglass_flowing_sand"
    # users.info answers (email, name) are cached this long.
    slack_user_cache_s: float = 900.0

    # -- human handoff (bot/gateway/handoff) ----------------------------------------------------------
    # Per queue (sales, support): the Slack channel id its handoffs are posted to (empty: that queue
    # is not bridged to Slack), its business hours ("Mon-Fri 09:00-17:00"; several ranges separated
    # by ";"), their IANA time zone, and holidays (comma-separated YYYY-MM-DD, closed all day).
    handoff_sales_channel: str = ""
    handoff_sales_hours: str = "Mon-Fri 09:00-17:00"
    handoff_sales_timezone: str = "America/New_York"
    handoff_sales_holidays: str = ""
    handoff_support_channel: str = ""
    handoff_support_hours: str = "Mon-Fri 08:00-20:00"
    handoff_support_timezone: str = "America/New_York"
    handoff_support_holidays: str = ""
    # Unclaimed this many minutes: the channel is alerted again (@here); after twice as long the
    # customer is offered the phone line and a callback.
    handoff_realert_minutes: float = 10.0
    # The sales line offered out of hours.
    handoff_phone: str = "1-800-667-6389"
    # Many workspaces (OAuth): the team id of the workspace the queue channels are in (the vendor's
    # own); the bridge posts there with that installation's bot token. One workspace: not needed.
    handoff_slack_team: str = ""


class TrackerSettings(Protocol):
    """Where Rasa's tracker database is: the gateway's settings, and the staff console's."""

    rasa_tracker_url: str
    rasa_tracker_db: str


def tracker_url(settings: TrackerSettings) -> str | None:
    """Rasa's tracker database as a SQLAlchemy URL, or None when neither setting names it."""
    if settings.rasa_tracker_url:
        return settings.rasa_tracker_url
    if settings.rasa_tracker_db:
        return f"sqlite:///{Path(settings.rasa_tracker_db).expanduser().resolve()}"
    return None


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
