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
