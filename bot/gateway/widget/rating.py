"""The widget's side of ratings (bot/gateway/ratings.py): the socket's ``rate`` frames and the
comment after "not helpful".

    client -> {"type": "rate", "offer": <the offer's id, from a message's "rating">,
               "value": "helpful" | "not_helpful" | "skip"}
    server -> the answer as a stored bot message (after "not helpful": with ``rating_step:
              "comment"``, which shows Skip), or {"type": "error", "code": "rating", "message": ...}
              when nothing changed (an offer this conversation never had, one already rated, a
              value not offered).

A tap is a frame of its own, never a message for Rasa: "Helpful" cannot answer a pending yes/no.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..ratings import Ratings
from .hub import Hub


async def rate(hub: Hub, ratings: Ratings, sender: str, offer: object, value: object) -> str | None:
    """Record a tap; None when it was taken (the answer is shown as a bot message), else what to
    tell the person (nothing changed)."""
    answer = await ratings.rate(sender, offer, value)
    if not answer.ok:
        return answer.text
    if answer.value == "not_helpful" and isinstance(offer, str):
        await hub.say(sender, {"text": answer.text, "rating": offer, "rating_step": "comment"})
    else:
        await hub.say(sender, {"text": answer.text})
    return None


def comments(hub: Hub, ratings: Ratings) -> Callable[[str, str], Awaitable[bool]]:
    """A hub diverter: while a comment is awaited, the visitor's next typed message is stored as
    the comment and answered here, not sent to Rasa (a button payload, ``/...``, ends the wait)."""

    async def divert(sender: str, text: str) -> bool:
        outcome, answer = await ratings.before_turn(sender, text, typed=not text.startswith("/"))
        if outcome == "pass" or answer is None:
            return False
        await hub.say(sender, {"text": answer.text})
        return True

    return divert
