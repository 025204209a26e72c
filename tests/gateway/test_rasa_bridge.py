"""The bridge to Rasa when Rasa is not there: a clear message for the user, quickly."""

from __future__ import annotations

import time

import pytest

from bot.gateway.rasa import CANT_REACH, Rasa, RasaUnavailable
from tests.conftest import free_port


async def test_rasa_down_gives_a_clear_message_fast():
    rasa = Rasa(f"http://127.0.0.1:{free_port()}/webhooks/gateway/webhook", "t", timeout=2)
    started = time.monotonic()
    with pytest.raises(RasaUnavailable) as caught:
        await rasa.say("someone", "hello", {})
    await rasa.aclose()
    assert str(caught.value) == CANT_REACH and "1-800-667-6389" in CANT_REACH
    assert time.monotonic() - started < 3


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
