"""The action server: ``python -m bot.actions [--host 127.0.0.1] [--port 5055]``.

rasa_sdk's own server (``rasa run actions``) listens on every interface and runs any action for
anyone who posts a tracker, and its trackers carry the identity the actions act for: a hand-written
one placed orders for another customer. So this is rasa_sdk's app with three changes:

- it listens on loopback unless told otherwise (``ACTIONS_HOST``; deployments name their interface);
- every request but ``GET /health`` must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``, the
  secret Rasa sends on every call (bot/endpoints*.yml); anything else gets 401 and runs nothing;
- no CORS, and an error answers without echoing the request (rasa_sdk sends the tracker back);
- it keeps each conversation's settled events, so that Rasa need send only the new ones
  (bot/kept_events.py: the protocol, and why).

An action that fails unexpectedly (a bug, not a billing refusal: those are explained by the action)
still answers Rasa with a message for the customer: a failed action call would otherwise leave the
turn without any reply at all. Its events are dropped, as they would be on a 500.

Each action call runs with the turn's request id bound (the gateway's, from the user event's
metadata: the billing client sends it on) and is counted and timed (bot/actions/_metrics.py); the
metrics are served on their own port (``METRICS_PORT``, bot/telemetry/metrics_http.py).
"""

from __future__ import annotations

import argparse
import gc
import hmac
import logging
import os
import time
from typing import Any

import orjson
from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import kept_events
from bot.actions import _metrics
from bot.settings_check import refuse_unsafe
from bot.telemetry import logs, metrics_http, request_ids

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


def turn_request_id(body: Any) -> str | None:
    """The request id of the turn an action call is for: the newest user event's metadata."""
    tracker = body.get("tracker") if isinstance(body, dict) else None
    events = tracker.get("events") if isinstance(tracker, dict) else None
    for event in reversed(events if isinstance(events, list) else []):
        if isinstance(event, dict) and event.get("event") == "user":
            metadata = event.get("metadata")
            return (
                request_ids.well_formed(metadata.get(request_ids.METADATA_KEY)) if isinstance(metadata, dict) else None
            )
    return None


# An integer of 20 digits or more, which may not fit in 64 bits and which orjson would read as a
# float. The body is mapped to its shape: digits to "0", what a JSON number follows (":", ",",
# "[") to ":", anything else to "x", spaces and minus signs dropped; a number is then ":" and its
# digits, where a confidence's 20 decimals follow a point and the digits of an id follow letters.
_SHAPE = bytes(ord("0") if 48 <= c <= 57 else ord(":") if chr(c) in ":,[" else ord("x") for c in range(256))
_NOT_SHAPE = b" -\t\r\n"
_WIDE_INTEGER = b":" + b"0" * 20


def parsed(request: Request) -> Any:
    """The call's JSON, for this middleware and rasa_sdk's handler (``request.json``), parsed by
    orjson: Rasa sends the whole conversation session on every call, and ujson, which Sanic picks,
    is about four times slower (8 ms a call for a session of 500 messages). What orjson reads
    differently is read by Sanic's parser as before: anything it refuses (NaN, an escaped lone
    surrogate) and any body with an integer of 20 digits or more (wider than 64 bits, which orjson
    makes a float; looking for one costs a twentieth of the parse)."""
    if request.parsed_json is None:
        body = request.body
        if _WIDE_INTEGER in body.translate(_SHAPE, _NOT_SHAPE):
            request.load_json()
        else:
            try:
                request.parsed_json = orjson.loads(body)
            except orjson.JSONDecodeError:
                request.load_json()
    return request.parsed_json


# Python's cyclic garbage collector looks at the youngest objects after every 700 new ones: the
# body of a call in a session of 500 messages (1.5 MB, some 100,000 dicts and lists) set off 26
# collections, some of them of everything the process holds: 7 to 10 ms a call on top of orjson's 3.
# Every 50,000 new objects instead; what is loaded at start (modules, actions, templates) lives as
# long as the process and is left out of collections altogether.
YOUNG_OBJECTS = 50_000


def collect_less() -> None:
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def whole_events(body: Any, headers: Any, kept: kept_events.KeptEvents) -> str | None:
    """Put the events kept for the call's conversation in front of those Rasa sent (the body is
    changed in place) and keep its settled ones; the token kept, if any. Unknown when the call
    builds on events not kept here. A body without a sender or a list of events is left to rasa_sdk.
    """
    since = kept_events.Mark.parse(headers.get(kept_events.SINCE))
    keep = kept_events.Mark.parse(headers.get(kept_events.KEEP))
    tracker = body.get("tracker") if isinstance(body, dict) else None
    events = tracker.get("events") if isinstance(tracker, dict) else None
    sender = body.get("sender_id") if isinstance(body, dict) else None
    if (since is None and keep is None) or not isinstance(events, list) or not isinstance(sender, str):
        if since is not None:
            raise kept_events.Unknown(sender)
        return None
    assert isinstance(tracker, dict)
    tracker["events"], held = kept.complete(sender, events, since, keep)
    return keep.token if held and keep is not None else None


def build(token: str, kept: kept_events.KeptEvents | None = None) -> Sanic:
    if not token:
        raise SystemExit("ACTION_SERVER_TOKEN is not set: the action server answers only Rasa, which sends it.")
    kept = kept if kept is not None else kept_events.KeptEvents.from_env()
    app = create_app("bot.actions", cors_origins=None)

    @app.middleware("request")
    async def only_rasa(request: Request) -> HTTPResponse | None:
        # Sanic serves a kept-alive connection's requests in one task: bind on every request.
        request_ids.bind(None)
        if (request.method, request.path) in OPEN:
            return None
        if authorized(request, token):
            if request.method == "POST" and request.path == "/webhook":
                body = parsed(request)
                try:
                    request.ctx.kept = whole_events(body, request.headers, kept)
                except kept_events.Unknown:
                    _metrics.KEPT_EVENTS.labels("unknown").inc()
                    return response.json(
                        {"error": "the events this call builds on are not kept here; send it whole"},
                        status=kept_events.UNKNOWN_STATUS,
                        headers={kept_events.UNKNOWN: "1"},
                    )
                _metrics.KEPT_EVENTS.labels("since" if kept_events.SINCE in request.headers else "whole").inc()
                request_ids.bind(turn_request_id(body))
                request.ctx.action = _metrics.action_label(body.get("next_action") if isinstance(body, dict) else None)
                request.ctx.started = time.perf_counter()
            return None
        log.warning("action server: refused %s %s from %s (no valid token)", request.method, request.path, request.ip)
        return response.json({"error": "unauthorized"}, status=401)

    @app.middleware("response")
    async def counted(request: Request, answer: HTTPResponse) -> None:
        if held := getattr(request.ctx, "kept", None):
            answer.headers[kept_events.KEPT] = held
        action = getattr(request.ctx, "action", None)
        if action is None:
            return
        status = answer.status
        outcome = (
            "failed" if getattr(request.ctx, "failed", False) else OUTCOMES.get(status, f"status_{status // 100}xx")
        )
        seconds = time.perf_counter() - request.ctx.started
        _metrics.ACTIONS.labels(action, outcome).inc()
        _metrics.ACTION_SECONDS.labels(action).observe(seconds)
        log.info("%s: %s in %.0f ms", action, outcome, seconds * 1000)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        request.ctx.failed = True
        log.error("action server: %s on %s", type(exception).__name__, request.path, exc_info=exception)
        if request.method == "POST" and request.path == "/webhook":
            return response.json({"events": [], "responses": [{"text": FAILED_TURN}]})
        return response.json({"error": "the action failed"}, status=500)

    return app


# rasa_sdk's answers to an action call: 200 done, 400 a form's validation rejected it, 404 no such action.
OUTCOMES = {200: "ok", 400: "rejected", 404: "not_found"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("ACTIONS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    args = parser.parse_args()
    refuse_unsafe("action server", {name: os.environ.get(name) for name in SECRETS})
    logs.configure("actions")
    utils.update_sanic_log_level()
    workers = utils.number_of_sanic_workers()
    if workers > 1 and metrics_http.metrics_address() and metrics_http.multiprocess_dir() is None:
        raise SystemExit(
            f"action server: {workers} workers with METRICS_PORT need PROMETHEUS_MULTIPROC_DIR (an empty "
            "directory the workers share), or each scrape would see one worker's counts"
        )
    metrics_http.clear_multiprocess_dir()
    app = build(os.environ.get("ACTION_SERVER_TOKEN", ""))
    if (where := metrics_http.serve_metrics()) is not None:
        log.info("metrics on http://%s:%s/metrics", *where)
    log.info("action server on http://%s:%s (Rasa's calls only)", args.host, args.port)
    collect_less()
    app.run(args.host, args.port, workers=workers, access_log=False)


if __name__ == "__main__":
    main()
