"""`python -m bot.console`: serve the staff console (everything under /console) on its own port.

It is never behind the public balancer: ``make run`` starts it on 127.0.0.1:8090, production runs
it as a service of its own that only the staff's network reaches (docs/console.md).
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

import uvicorn

from bot.gateway.config import tracker_url
from bot.nlu.cards import redact_logs
from bot.settings_check import refuse_unsafe
from bot.telemetry import logs

from .app import Console, create_app
from .config import ConsoleSettings, get_settings

DEV_TOKEN_ENV = "CONSOLE_DEV_SIGNIN_TOKEN"
# A console on this machine only (make run-prod) may be reached over plain HTTP: no network in between.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def unsafe_settings(settings: ConsoleSettings, dev_token: str = "") -> None:
    """In production, stop on development or example secrets, a development sign-in link, and an
    address staff would reach over plain HTTP (bot/settings_check.py)."""
    secrets: dict[str, str | None] = {
        "CONSOLE_SESSION_KEY": settings.console_session_key,
        "CONSOLE_OIDC_CLIENT_SECRET": settings.console_oidc_client_secret,
        "BILLING_CONSOLE_TOKEN": settings.billing_console_token,
    }
    if settings.privacy_admin_token:
        secrets["PRIVACY_ADMIN_TOKEN"] = settings.privacy_admin_token
    others = []
    if dev_token:
        others.append(f"{DEV_TOKEN_ENV} is set: the development sign-in link is for make run only")
    if not settings.console_oidc_client_id or not settings.console_slack_team:
        others.append("CONSOLE_OIDC_CLIENT_ID and CONSOLE_SLACK_TEAM must be set: nobody could sign in")
    public = urlsplit(settings.console_public_url)
    if public.scheme != "https" and public.hostname not in LOOPBACK:
        others.append("CONSOLE_PUBLIC_URL must be https:// (the session cookie is sent over TLS only)")
    if tracker_url(settings) is None:
        others.append("RASA_TRACKER_URL is not set: the console would have no conversations to show")
    refuse_unsafe("console", secrets, others)


def main() -> None:
    log_format = logs.configure("console")
    redact_logs()
    settings = get_settings()
    dev_token = os.environ.get(DEV_TOKEN_ENV, "").strip()
    unsafe_settings(settings, dev_token)
    console = Console.from_settings(settings, dev_token=dev_token)
    if console.dev_link is not None:
        logging.getLogger("bot.console").info(
            "one-time development sign-in (admin, %.0f minutes): %s/console/signin/dev/%s",
            settings.console_dev_link_minutes,
            settings.console_public_url.rstrip("/"),
            dev_token,
        )
    uvicorn.run(
        create_app(console),
        host=settings.console_host,
        port=settings.console_port,
        log_level="info",
        log_config=None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )


if __name__ == "__main__":
    main()
