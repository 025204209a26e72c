"""The action server: ``python -m bot.actions [--host 127.0.0.1] [--port 5055]``.

rasa_sdk's own server (``rasa run actions``) listens on every interface and runs any action for
anyone who posts a tracker, and its trackers carry the identity the actions act for: a hand-written
one placed orders for another customer. So this is rasa_sdk's app with three changes:

- it listens on loopback unless told otherwise (``ACTIONS_HOST``; deployments name their interface);
- every request but ``GET /health`` must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``, the
  secret Rasa sends on every call (bot/endpoints*.yml); anything else gets 401 and runs nothing;
- no CORS, and an error answers without echoing the request (rasa_sdk sends the tracker back).

An action that fails unexpectedly (a bug, not a billing refusal: those are explained by the action)
still answers Rasa with a message for the customer: a failed action call would otherwise leave the
turn without any reply at all. Its events are dropped, as they would be on a 500.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings_check import refuse_unsafe

log = logging.getLogger("bot.actions.server")

# What the action server holds: Rasa's secret, and its tokens for billing and for the gateway.
SECRETS = ("ACTION_SERVER_TOKEN", "BILLING_ACTIONS_TOKEN", "GATEWAY_TOKEN")
OPEN = frozenset({("GET", "/health")})  # the load balancer's and the orchestrator's health checks
# Said when an action failed unexpectedly. It does not claim nothing changed: the failure may come
# after billing did its part, and billing's own record is what counts.
FAILED_TURN = (
    "Sorry, something went wrong on my side and I couldn't finish that. Please try again in a "
    'moment, or say "talk to a person".'
)


def authorized(request: Request, token: str) -> bool:
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def build(token: str) -> Sanic:
    if not token:
        raise SystemExit("ACTION_SERVER_TOKEN is not set: the action server answers only Rasa, which sends it.")
    app = create_app("bot.actions", cors_origins=None)

    @app.middleware("request")
    async def only_rasa(request: Request) -> HTTPResponse | None:
        if (request.method, request.path) in OPEN or authorized(request, token):
            return None
        log.warning("action server: refused %s %s from %s (no valid token)", request.method, request.path, request.ip)
        return response.json({"error": "unauthorized"}, status=401)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        log.error("action server: %s on %s", type(exception).__name__, request.path, exc_info=exception)
        if request.method == "POST" and request.path == "/webhook":
            return response.json({"events": [], "responses": [{"text": FAILED_TURN}]})
        return response.json({"error": "the action failed"}, status=500)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("ACTIONS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    args = parser.parse_args()
    refuse_unsafe("action server", {name: os.environ.get(name) for name in SECRETS})
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    app = build(os.environ.get("ACTION_SERVER_TOKEN", ""))
    log.info("action server on http://%s:%s (Rasa's calls only)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
