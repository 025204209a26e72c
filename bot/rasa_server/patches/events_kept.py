"""Send the action server only the events it does not hold yet (bot/kept_events.py: the protocol).

What: a call to the action server asks it to keep the call's settled events (those before the
customer's latest message), under a token drawn here; once the action server has said it keeps them,
the conversation's next call sends only the events after them, and sends the call again whole if
the action server answers that it no longer holds them. Every call says which conversation it is for
(``X-Conversation``, a hash of the sender id), by which the balancer keeps a conversation on one
action server. Only calls the patched ``EndpointConfig.request`` gets from action_payload.py's
``_action_call_format`` take part; a compressed call is sent whole, as Rasa sends it.
Why: the action server parsed, held and freed the whole session on each of a turn's calls; at the
500th message of a session its CPU per turn was four times the 5th's (`make bench`'s ``growth``).
A prefix is named by the event objects at its ends, as action_payload.py names the texts it keeps:
a tracker read again from the database has new objects, and its first call goes whole.
Test: tests/rasa_env/test_events_kept.py.
"""

from __future__ import annotations

import hashlib
import secrets
import ssl
import weakref
from dataclasses import dataclass
from typing import Any

from bot.kept_events import CONVERSATION, KEEP, KEPT, SINCE, UNKNOWN, UNKNOWN_STATUS, Mark

SPEED = True
_applied = False


@dataclass(frozen=True)
class _Held:
    """A prefix of a conversation the action server said it keeps: its first and last event objects."""

    first: Any  # weakref.ref
    last: Any  # weakref.ref
    mark: Mark


_held: dict[int, _Held] = {}  # id(the first event of a session's tracker) -> what the action server keeps


def _forget(key: int) -> Any:
    def gone(ref: Any) -> None:
        held = _held.get(key)
        if held is not None and held.first is ref:
            del _held[key]

    return gone


@dataclass
class Offer:
    """What a call offers the action server: the events it builds on (``since``), those to keep."""

    conversation: str
    since: Mark | None
    keep: Mark | None
    ends: tuple[Any, Any] | None  # the first and the last event of ``keep``

    def headers(self, since: bool) -> dict[str, str]:
        headers = {CONVERSATION: self.conversation}
        if self.keep is not None:
            headers[KEEP] = self.keep.header()
        if since and self.since is not None:
            headers[SINCE] = self.since.header()
        return headers

    def answered(self, kept: str | None) -> None:
        """The action server answered the call, and kept ``kept`` (or nothing)."""
        if self.ends is None:
            return
        first, last = self.ends
        key = id(first)
        if self.keep is None or kept != self.keep.token:
            _held.pop(key, None)  # what it holds is not known: the next call goes whole
            return
        current = _held.get(key)
        if current is None or current.mark != self.keep or current.first() is not first:
            _held[key] = _Held(weakref.ref(first, _forget(key)), weakref.ref(last), self.keep)


def conversation_key(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode()).hexdigest()[:32]


def offer(sender_id: str, events: list[Any], latest: int) -> Offer:
    """The offer of a call with ``events``, the customer's latest message at ``latest``."""
    conversation = conversation_key(sender_id)
    if latest <= 0:
        return Offer(conversation, None, None, None)
    first, last = events[0], events[latest - 1]
    held = _held.get(id(first))
    since = None
    if held is not None and held.first() is first and held.mark.count <= latest:
        if events[held.mark.count - 1] is held.last():
            since = held.mark
    keep = since if since is not None and since.count == latest else Mark(secrets.token_urlsafe(16), latest)
    return Offer(conversation, since, keep, (first, last))


def applied() -> bool:
    return _applied


class _Refused(Exception):
    """The action server does not hold the events a call was built on."""


def apply() -> None:
    global _applied
    from aiohttp import ContentTypeError
    from rasa.shared.exceptions import FileNotFoundException
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

    from bot.rasa_server.patches.endpoint_sessions import Encoded

    original = EndpointConfig.request
    if getattr(original, "_sending_new_events", False):
        return

    async def _post(
        self: EndpointConfig, method: str, subpath: str | None, content_type: str | None, text: str,
        extra: dict[str, str], kwargs: dict[str, Any],
    ) -> tuple[Any, str | None]:  # fmt: skip
        """Rasa's ``EndpointConfig.request`` with a body already encoded: the answer's JSON, and
        the token the action server says it keeps."""
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(kwargs.pop("headers", None) or {})
        headers.update(self.headers or {})
        headers.update(extra)
        sslcontext = None
        if self.cafile:
            try:
                sslcontext = ssl.create_default_context(cafile=self.cafile)
            except FileNotFoundError as e:
                raise FileNotFoundException(f"Failed to find certificate file '{self.cafile}'.") from e
        async with self.session() as session:
            async with session.request(
                method, concat_url(self.url, subpath), headers=headers, params=self.combine_parameters(kwargs),
                data=text.encode(), ssl=sslcontext, **kwargs,
            ) as response:  # fmt: skip
                if response.status == UNKNOWN_STATUS and UNKNOWN in response.headers:
                    raise _Refused()
                if response.status >= 400:
                    raise ClientResponseError(response.status, response.reason or "", await response.content.read())
                kept = response.headers.get(KEPT)
                try:
                    return await response.json(), kept
                except ContentTypeError:
                    return None, kept

    async def request(
        self: EndpointConfig, method: str = "post", subpath: str | None = None,
        content_type: str | None = "application/json", compress: bool = False, **kwargs: Any,
    ) -> Any:  # fmt: skip
        body = kwargs.get("json")
        if not isinstance(body, Encoded) or body.offer is None or compress:
            return await original(self, method, subpath, content_type, compress, **kwargs)
        offered: Offer = body.offer
        del kwargs["json"]
        if body.since_text is not None:
            try:
                answer, kept = await _post(
                    self, method, subpath, content_type, body.since_text, offered.headers(True), dict(kwargs)
                )
            except _Refused:
                pass
            else:
                offered.answered(kept)
                return answer
        try:
            answer, kept = await _post(self, method, subpath, content_type, body.text, offered.headers(False), kwargs)
        except _Refused:  # only a call built on kept events is refused that way; never retried twice
            offered.answered(None)
            raise ClientResponseError(UNKNOWN_STATUS, "Conflict", "the action server refused a whole call") from None
        offered.answered(kept)
        return answer

    request._sending_new_events = True  # type: ignore[attr-defined]
    request.__wrapped_original__ = original  # type: ignore[attr-defined]
    EndpointConfig.request = request
    _applied = True
