"""`python -m bot.rasa_server run ...`: the `rasa` command, with this project's patches to Rasa 3.6's
turn hot path (bot/rasa_server/patches/) and its settings checked.

bot.launch.runner starts Rasa this way (make run, make shell, the end-to-end tests and the bench), and so
do the deployment files; the arguments are `rasa`'s own, except that ``--enable-api`` takes its
token from ``RASA_API_TOKEN`` (``with_api_token``). Plain `rasa run` works too, slower; what
production needs for correctness (the PostgreSQL tracker store's handling of dropped connections)
is a tracker store class named in the endpoints file (bot/rasa_server/tracker_store.py), not a patch.
"""

from __future__ import annotations

import sys

API_TOKEN_ENV = "RASA_API_TOKEN"


def with_api_token(argv: list[str], environ: dict[str, str]) -> list[str]:
    """``--enable-api`` (Rasa's HTTP API: the handoff bridge pauses conversations and records the
    rep's messages through it) only with a token: ``--auth-token`` from ``RASA_API_TOKEN``, added
    here rather than by the caller so the secret stays out of the process list. Without a token
    the API is refused, never served open."""
    if "--enable-api" not in argv or "--auth-token" in argv:
        return argv
    token = environ.get(API_TOKEN_ENV, "").strip()
    if not token:
        raise SystemExit(
            f"rasa: --enable-api needs a token: set {API_TOKEN_ENV} (Rasa's HTTP API is never served without one)"
        )
    return [*argv, "--auth-token", token]


def unsafe_settings(argv: list[str], environ: dict[str, str]) -> None:
    """In production, refuse the development or example secrets Rasa would use: the gateway
    channel's token, the action server's secret, the HTTP API's token, and the Redis lock store's
    password (bot/settings_check.py)."""
    from bot.settings_check import refuse_unsafe

    if "run" not in argv[1:2]:
        return  # train, test, shell...: nothing listens
    secrets = {"GATEWAY_TOKEN": environ.get("GATEWAY_TOKEN"), "ACTION_SERVER_TOKEN": environ.get("ACTION_SERVER_TOKEN")}
    if "--enable-api" in argv:
        secrets["RASA_API_TOKEN"] = environ.get("RASA_API_TOKEN")
    if environ.get("REDIS_HOST"):  # the production endpoints' lock store: Redis AUTH required
        secrets["REDIS_PASSWORD"] = environ.get("REDIS_PASSWORD")
    refuse_unsafe("rasa", secrets, environ=environ)


def our_logs() -> None:
    """Rasa's log lines in the format of the other services (bot/telemetry/logs.py: JSON in
    production, text under make run), with the turn's request id: Rasa's main sets up coloredlogs
    after parsing its arguments, through this one function, which is replaced here. (Sanic's own
    loggers, at ERROR by Rasa's default, keep their format.)"""
    import logging
    import os

    import rasa.utils.io

    from bot.telemetry import logs

    fmt = logs.log_format()

    def configure(loglevel: object = None) -> None:
        level = loglevel if isinstance(loglevel, (int, str)) and loglevel else os.environ.get("LOG_LEVEL", "INFO")
        logs.configure("rasa", fmt, level=logging.getLevelName(level) if isinstance(level, str) else level)

    rasa.utils.io.configure_colored_logging = configure


def main() -> None:
    import os

    from bot.rasa_server import patches as rasa_patches
    from bot.rasa_server.patches import thread_pools

    unsafe_settings(sys.argv, dict(os.environ))
    if "numpy" not in sys.modules and "thread_pools" not in rasa_patches.turned_off():
        thread_pools.apply(os.environ)  # before numpy is imported: OpenBLAS reads it when loaded
    sys.argv = with_api_token(sys.argv, dict(os.environ))
    rasa_patches.apply()
    from bot.nlu.cards import redact_logs

    redact_logs()  # Rasa logs what users said (debug level): never a card number
    our_logs()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()
