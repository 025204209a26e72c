"""Keep the connections to the action server open between calls.

What: each endpoint (the action server) keeps one aiohttp session per event loop, and its
connections, instead of a new session for every action call; idle connections are dropped after
``KEEP_ALIVE_S``, before the action server's own keep-alive limit (5 s) could close one under a
request. Headers (the action server's secret), basic auth and the timeout are Rasa's.
Why: a new TCP connection per action call, in Rasa and again in the action server accepting it.
Test: tests/rasa_env/test_rasa_speed.py (test_calls_to_an_endpoint_reuse_one_connection).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

SPEED = True
KEEP_ALIVE_S = 2.0
_applied = False


class Encoded(dict[str, Any]):
    """A JSON body whose text is put together by bot/rasa_server/patches/action_payload.py: the kept
    sessions send ``text`` as it is. ``text`` is the whole body, made when first asked for: a call
    that the action server completes from the events it keeps (bot/rasa_server/patches/
    events_kept.py) sends ``since_text`` instead, and needs the whole only if that is refused."""

    def __init__(self, value: dict[str, Any], whole: Callable[[], str]) -> None:
        super().__init__(value)
        self._whole: Callable[[], str] | None = whole
        self._text: str | None = None
        self.since_text: str | None = None
        self.offer: Any = None  # events_kept's Offer, with since_text

    @property
    def text(self) -> str:
        if self._text is None:
            assert self._whole is not None
            self._text, self._whole = self._whole(), None
        return self._text


def serialise(value: Any) -> str:
    """The kept sessions' JSON encoder: an ``Encoded`` body's text, anything else as aiohttp would."""
    return value.text if isinstance(value, Encoded) else json.dumps(value)


def applied() -> bool:
    return _applied


class _KeptSession:
    """``async with endpoint.session() as s`` without closing ``s`` at the end."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def apply() -> None:
    global _applied
    import asyncio
    import weakref

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    original = EndpointConfig.session
    if getattr(original, "_kept", False):
        return

    def session(self: EndpointConfig) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return original(self)  # not in a loop: Rasa's own, closed after use
        kept = self.__dict__.setdefault("_kept_sessions", weakref.WeakKeyDictionary())
        current = kept.get(loop)
        if current is None or current.closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
            )
            current = kept[loop] = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_S),
                json_serialize=serialise,
            )
        return _KeptSession(current)

    session._kept = True  # type: ignore[attr-defined]
    EndpointConfig.session = session
    _applied = True
