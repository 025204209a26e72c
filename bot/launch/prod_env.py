"""What a production stack's processes are told beyond ``make run``'s environment: secrets of its
own, and Rasa's tracker store and lock store settings (bot/endpoints.prod.yml) from the PostgreSQL
and Redis URLs.
"""

from __future__ import annotations

import json
from pathlib import Path
from secrets import token_hex
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

from bot.billing.adapters.db import normalise_url

__all__ = ["SECRET_NAMES", "kept_secrets", "new_secrets", "rasa_db_env", "redis_env"]

# The secrets of a production stack: never the development ones, which production refuses
# (bot/settings_check.py). make run-prod keeps its own in data/prod/secrets.json; tests get fresh ones.
SECRET_NAMES = (
    "GATEWAY_TOKEN",
    "RASA_API_TOKEN",
    "ACTION_SERVER_TOKEN",
    "BILLING_ACTIONS_TOKEN",
    "BILLING_GATEWAY_TOKEN",
    "BILLING_SIGNING_KEY",
    "WIDGET_SIGNING_KEY",
    "WIDGET_JWT_SECRET",
    "GATEWAY_FANOUT_KEY",
    # the privacy admin API's (docs/privacy.md): production refuses make run's development one
    "PRIVACY_ADMIN_TOKEN",
    # the staff console's: its session cookie's key and its read-only token at billing (docs/console.md)
    "CONSOLE_SESSION_KEY",
    "BILLING_CONSOLE_TOKEN",
)


def new_secrets() -> dict[str, str]:
    return {name: token_hex(32) for name in SECRET_NAMES}


def kept_secrets(path: Path) -> dict[str, str]:
    """The secrets in ``path`` (readable by its owner only), made and written there the first time;
    names added since get new values."""
    kept = json.loads(path.read_text()) if path.exists() else {}
    made = {**new_secrets(), **{k: v for k, v in kept.items() if k in SECRET_NAMES}}
    if made != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(made, indent=2))
    return made


def rasa_db_env(url: str) -> dict[str, str]:
    """RASA_DB_* for endpoints.prod.yml from a PostgreSQL URL."""
    u = make_url(normalise_url(url))
    return {
        "RASA_DB_HOST": u.host or "127.0.0.1",
        "RASA_DB_PORT": str(u.port or 5432),
        "RASA_DB_NAME": u.database or "",
        "RASA_DB_USER": u.username or "postgres",
        "RASA_DB_PASSWORD": u.password or "",
    }


def redis_env(url: str) -> dict[str, str]:
    """REDIS_* for Rasa's lock store (endpoints.prod.yml) from a redis:// URL."""
    parts = urlsplit(url)
    return {
        "REDIS_HOST": parts.hostname or "127.0.0.1",
        "REDIS_PORT": str(parts.port or 6379),
        "REDIS_DB": (parts.path.strip("/") or "0"),
        "REDIS_USERNAME": unquote(parts.username or ""),
        "REDIS_PASSWORD": unquote(parts.password or ""),
    }
