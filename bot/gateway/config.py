"""Gateway settings from environment variables, with safe defaults for a laptop."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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

    # Rasa's gateway channel (bot/channels/gateway.py) and the token it checks.
    rasa_webhook_url: str = "http://127.0.0.1:5005/webhooks/gateway/webhook"
    gateway_token: str = "dev-gateway-token"
    # A turn waits for Rasa, the action server and billing; billing calls give up after 5 s.
    rasa_timeout_s: float = 20.0

    # The billing backend, for what the gateway reads itself (App Home, the demo pricing page).
    billing_url: str = "http://127.0.0.1:8001"
    billing_service_token: str = "dev-service-token"


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
