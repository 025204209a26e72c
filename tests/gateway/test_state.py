"""The dedupe store every channel relies on: a key is acted on once, even when many deliveries
race for it from several threads (as several gateway replicas would)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.gateway.state import GatewayState


async def test_a_key_is_new_once(gateway_state: GatewayState):
    assert await gateway_state.first_time("slack:event:Ev1") is True
    assert await gateway_state.first_time("slack:event:Ev1") is False
    assert await gateway_state.first_time("slack:event:Ev2") is True


def test_racing_deliveries_get_one_winner(gateway_state: GatewayState):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: gateway_state.first_time_sync("widget:msg:v1:42"), range(24)))
    assert results.count(True) == 1


def test_keys_survive_a_restart(gateway_state: GatewayState):
    assert gateway_state.first_time_sync("slack:event:EvKeep")
    again = GatewayState(str(gateway_state.engine.url.render_as_string(hide_password=False)))
    try:
        assert again.first_time_sync("slack:event:EvKeep") is False
    finally:
        again.dispose()
