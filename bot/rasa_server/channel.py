"""The Rasa input channel the gateway talks to: the REST channel, behind a shared token.

Rasa is reached only by the gateway, which has verified who the user is and says so in the
message metadata; the token keeps anybody else from posting messages (and identities) here.
Card numbers are redacted before Rasa sees the text, so they reach neither NLU, the tracker
store, nor a log line.

The text is cleaned here too (``bot.nlu.text_hygiene.clean``: control and format characters,
lone surrogates), though the gateway did it already: this endpoint is the last door before the
NLU. Bad input gets a 400 with a JSON ``error`` and is not processed: a body that is not a JSON
object, a sender that is not 1-200 printable characters, a message that is not text of at most
5,000 characters, or one with nothing left after cleaning (only spaces, or invisible characters,
which were once read as "yes"). Lone surrogates in the metadata become U+FFFD (they can be
neither stored nor logged).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.nlu.card_redaction import redact
from bot.nlu.text_hygiene import clean, without_surrogates
from bot.rasa_server import turn_facts
from bot.rasa_server.tracker_store import TrackerStoreUnavailable
from bot.telemetry import request_ids

log = logging.getLogger(__name__)
MAX_TEXT = 5_000
MAX_SENDER = 200


class GatewayInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GatewayInput:
        return cls(token=(credentials or {}).get("token") or "")

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the gateway channel needs a token (GATEWAY_TOKEN)")
        self.token = token

    def _authorized(self, request: Request) -> bool:
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self.token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorized(request):
                return response.json({"error": "unauthorized"}, status=401)
            try:
                body = request.json
            except Exception:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "the body must be a JSON object"}, status=400)
            sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata") or {}
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER or not sender.isprintable():
                return response.json({"error": "sender: 1 to 200 printable characters"}, status=400)
            if not isinstance(text, str) or len(text) > MAX_TEXT or not isinstance(metadata, dict):
                return response.json({"error": f"message: text of at most {MAX_TEXT} characters"}, status=400)
            text = clean(text)
            if not text:
                return response.json({"error": "message: no text (only spaces or invisible characters)"}, status=400)
            metadata = without_surrogates(metadata)
            text, found = redact(text)
            if found:
                metadata = {**metadata, "card_number_redacted": True}
            # The turn's id (the gateway's), stored with the user event for the actions to pass on
            rid = (
                request_ids.well_formed(metadata.get(request_ids.METADATA_KEY))
                or request_ids.well_formed(request.headers.get(request_ids.HEADER))
                or request_ids.new()
            )
            metadata = {**metadata, request_ids.METADATA_KEY: rid}
            bound = request_ids.bind(rid)
            try:
                return await self._turn(on_new_message, sender, text, metadata)
            finally:
                request_ids.unbind(bound)

        return webhook

    async def _turn(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], sender: str, text: str, metadata: dict[str, Any]
    ) -> HTTPResponse:
        """One turn; the answer's headers say its intent and whether it fell back (turn_facts.py)."""
        collector = CollectingOutputChannel()
        facts = turn_facts.observe()
        started = time.perf_counter()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
        except TrackerStoreUnavailable as error:
            # The conversation could not be read (its database is down): the turn did not run.
            log.warning("gateway message for %s: %s", sender, error)
            return response.json({"error": "the assistant failed on this message"}, status=503)
        except Exception as error:
            log.exception("gateway message for %s failed", sender)
            if collector.messages and _lock_store_failure(error):
                # The turn ran, was saved and answered; only releasing its lock failed (Redis
                # went away: tests/e2e/test_faults_prod.py). What the bot said is what happened
                # (an order placed, say): tell the user that, not an error the gateway words as
                # "nothing was changed". (Any other failure may have lost the turn: an error, and
                # the user sends it again.)
                return response.json(collector.messages)
            return response.json({"error": "the assistant failed on this message"}, status=500)
        log.info(
            "turn for %s: intent %s%s, %.0f ms",
            sender,
            facts.intent or "unknown",
            " (fallback)" if facts.fallback else "",
            (time.perf_counter() - started) * 1000,
        )
        return response.json(collector.messages, headers=facts.headers())


def _lock_store_failure(error: BaseException) -> bool:
    """Did the lock store (Redis) raise this? Rasa takes the lock before the turn and releases it
    after the tracker is saved; with replies collected, it failed on the release."""
    from rasa.core.lock_store import LockError

    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client: an in-memory lock store never fails this way
        return isinstance(error, LockError)
    return isinstance(error, (LockError, RedisError))
