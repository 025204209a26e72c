"""Production refuses unsafe settings at start, naming each one (every service's ``main`` calls
``refuse_unsafe`` before it listens). Pure Python: it runs in both environments.

A service is in development only when ``APP_ENV=development``, which ``make run``, ``make shell`` and
the tests set (bot/launch/runner.py). Anything else is production, so a deployment that forgot to say
what it is gets the strict checks, not the laptop's defaults. In production a secret is refused
when it is empty, one of the built-in development values, an example value from deploy/
(``change-me``...), or shorter than 32 bytes; each service adds its own rules (no demo seeding, no
``*`` for origins or proxies, a Redis password).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

MIN_SECRET_BYTES = 32
# The built-in development values of every secret (the settings' defaults and bot/launch/runner.py's).
# Anything that starts with "dev-" counts as one too.
DEVELOPMENT_SECRETS = frozenset(
    {
        "dev-gateway-token",
        "dev-rasa-api-token",
        "dev-action-server-token",
        "dev-service-token",
        "dev-billing-gateway-token",
        "dev-signing-key-change-me",
        "dev-signing-key-change-me-32-bytes",
        "dev-widget-signing-key-change-me",
        "dev-widget-jwt-secret-change-me-32b",
        "dev-privacy-admin-token",
        "dev-billing-console-token",
        "dev-console-session-key-change-me-32b",
    }
)
# What the example files in deploy/ hold, and what people write in their place.
EXAMPLE_MARKERS = re.compile(
    r"change[-_ ]?me|changeit|replace[-_ ]?me|example|secret(?:key)?$|password$|^x+$", re.IGNORECASE
)


class UnsafeSettings(SystemExit):
    """Raised at start with every problem found; its message names the settings."""


def in_production(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("APP_ENV", "production").strip().lower() != "development"


def secret_problem(value: str | None) -> str | None:
    """Why ``value`` can't be a production secret, or None."""
    if not value:
        return "is not set"
    if value in DEVELOPMENT_SECRETS or value.startswith("dev-"):
        return "is a built-in development value"
    if EXAMPLE_MARKERS.search(value):
        return "is an example value, not a secret"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def problems(secrets: Mapping[str, str | None]) -> list[str]:
    """``NAME is ...`` for each unsafe secret."""
    found = []
    for name, value in secrets.items():
        why = secret_problem(value)
        if why:
            found.append(f"{name} {why}")
    return found


def refuse_unsafe(
    service: str, secrets: Mapping[str, str | None], others: Iterable[str] = (), environ: Mapping[str, str] = os.environ
) -> None:
    """In production, stop with one message naming every unsafe setting (``others``: the service's
    own findings, already worded). In development, do nothing."""
    if not in_production(environ):
        return
    found = [*problems(secrets), *others]
    if found:
        lines = "\n".join(f"  - {problem}" for problem in found)
        raise UnsafeSettings(
            f"{service}: refusing to start in production with unsafe settings:\n{lines}\n"
            "Set real values (for example `openssl rand -hex 32` for a secret), or APP_ENV=development "
            "on a laptop."
        )


def events_bound(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    """A bound on the events a process keeps in memory, from the setting ``name`` (``default`` when
    unset; 0 keeps none): a whole number, or the process refuses to start saying so."""
    raw = environ.get(name, "").strip()
    try:
        size = int(raw) if raw else default
    except ValueError:
        size = -1
    if size < 0:
        raise SystemExit(f"{name}={raw!r}: a whole number of events is needed (0 keeps none)")
    return size
