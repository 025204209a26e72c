"""The bridge to Rasa over HTTP: a turn and its answer, and when Rasa is not there, failing or slow, a clear
message for the user, quickly."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp import web

from bot.gateway.rasa import CANT_REACH, INTENT_HEADER, TASK_HEADER, Rasa, RasaUnavailable
from bot.telemetry.tasks import TASK_DONE
from tests.conftest import free_port


async def test_rasa_down_gives_a_clear_message_fast():
    rasa = Rasa(f"http://127.0.0.1:{free_port()}/webhooks/gateway/webhook", "t", timeout=2)
    started = time.monotonic()
    with pytest.raises(RasaUnavailable) as caught:
        await rasa.say("someone", "hello", {})
    await rasa.aclose()
    assert str(caught.value) == CANT_REACH and "1-800-667-6389" in CANT_REACH
    assert time.monotonic() - started < 3


class RasaChannel:
    """Rasa's gateway channel on a real local port: records each request, answers as told."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status, self.body, self.hang = 200, b"[]", False
        self.headers: dict[str, str] = {}
        self.url = ""
        self.released = asyncio.Event()  # a hanging answer waits for it
        self.answered = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, json.loads(await request.read())))
        if self.hang:
            await self.released.wait()
        self.answered += 1
        return web.Response(status=self.status, body=self.body, headers=self.headers)

    async def __aenter__(self) -> RasaChannel:
        app = web.Application()
        app.router.add_post("/webhooks/gateway/webhook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/webhooks/gateway/webhook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.released.set()
        await self.runner.cleanup()


async def test_a_turn_reaches_rasa_with_the_token_request_id_and_identity_and_its_answer_comes_back():
    async with RasaChannel() as channel:
        rasa = Rasa(channel.url, "the-token", timeout=2)
        channel.body = json.dumps(
            [{"recipient_id": "wu-1", "text": "Voilà: 5 × €12", "buttons": [{"title": "Yes", "payload": "/affirm"}]}, 7]
        ).encode()
        channel.headers = {INTENT_HEADER: "add_licenses", TASK_HEADER: "add_licenses"}
        try:
            for _ in range(2):  # the second on the kept connection
                answer = await rasa.say("wu-1", "add 5 licences for the café", {"channel": "widget"})
                assert answer == [
                    {
                        "recipient_id": "wu-1",
                        "text": "Voilà: 5 × €12",
                        "buttons": [{"title": "Yes", "payload": "/affirm"}],
                    },
                    {"custom": {TASK_DONE: "add_licenses"}},
                ]
        finally:
            await rasa.aclose()
    headers, body = channel.requests[-1]
    assert headers["authorization"] == "Bearer the-token"
    assert body["sender"] == "wu-1" and body["message"] == "add 5 licences for the café"
    assert body["metadata"]["channel"] == "widget"
    assert headers["x-request-id"] == body["metadata"]["request_id"]


@pytest.mark.parametrize(
    ("status", "body", "hang"),
    [
        (500, b'{"error": "boom"}', False),
        (200, b"<html>not json</html>", False),
        (200, b'{"not": "a list"}', False),
        (200, b"[]", True),
    ],
    ids=["error", "not-json", "not-a-list", "no-answer-in-time"],
)
async def test_a_failing_or_silent_rasa_is_unavailable_with_the_message_for_the_user(status, body, hang):
    async with RasaChannel() as channel:
        channel.status, channel.body, channel.hang = status, body, hang
        rasa = Rasa(channel.url, "t", timeout=1)
        try:
            with pytest.raises(RasaUnavailable) as caught:
                await rasa.say("wv-1", "hello", {"channel": "widget"})
            assert channel.requests and channel.answered == (0 if hang else 1)  # given up before the answer
        finally:
            await rasa.aclose()
    assert str(caught.value) == CANT_REACH


async def test_each_turn_names_its_conversation_for_the_balancer_by_a_hash():
    """HAProxy keeps a conversation on one Rasa server by this header (deploy/haproxy.cfg.template);
    it carries no sender id, and a conversation's turns carry the same one."""
    import httpx

    seen: list[httpx.Request] = []

    def rasa_server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"text": "hi"}])

    rasa = Rasa("http://rasa.test/webhooks/gateway/webhook", "t", transport=httpx.MockTransport(rasa_server))
    for sender in ("widget:alex@acme.example", "widget:alex@acme.example", "slack:T1:U2"):
        assert await rasa.say(sender, "hello", {}) == [{"text": "hi"}]
    await rasa.aclose()
    keys = [request.headers["X-Conversation"] for request in seen]
    assert keys[0] == keys[1] != keys[2]
    assert all(len(key) == 32 and "alex" not in key and "U2" not in key for key in keys)
