"""Fan-out of widget events across gateway replicas, through Redis pub/sub.

A visitor's WebSocket lives on one gateway replica; the message for it may be produced on another
(the bot's reply to a turn taken there, a rep's reply arriving from Slack, a handoff notice). Every
replica publishes a note on one Redis channel when it stored something for a conversation, and
hears everyone else's: the hub then reads the new rows from the gateway database and hands them to
its own sockets of that conversation (``Hub.remote``).

Without ``GATEWAY_REDIS_URL`` there is nothing to fan out to: ``Fanout`` is the single-process one
(``make run``), and the history poller still picks up rows another process wrote.

Redis is a fast path, not the record: the rows are in the gateway database first. Every Redis call
has a timeout; a failed publish is logged and left to the poller; when the connection drops the
listener reconnects by itself (backing off up to ``RECONNECT_MAX_S``) and then asks the hub to
catch every socket up from the database, so nothing published during the gap is missed.

Whoever reaches Redis must not be able to speak for a replica (issue 17): Redis asks for a password
in production (``GATEWAY_REDIS_USERNAME``/``GATEWAY_REDIS_PASSWORD``), and on top of that every
event is signed (``Sealer``: HMAC-SHA256 under ``GATEWAY_FANOUT_KEY``, bound to the channel) and
carries its origin (one per replica process), a sequence number and the time it was sent. A replica
ignores, and logs without their content, events that are unreadable, badly signed, older or newer
than ``MAX_AGE_S``, or whose sequence number it has seen or is too far behind (``SequenceWindow``).
The events carry no message content at all (a row's id, a typing flag): the text is read from the
database, so there is nothing to read off Redis and nothing to encrypt, and even a holder of the key
cannot show a visitor a message that is not stored for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import math
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


class FanoutEvent(TypedDict, total=False):
    """What the widget's hub tells the other replicas about a conversation: new rows up to an id
    (read from the history table there), typing on/off, or both (rows first). Never a message's content."""

    sender: str
    upto: int
    typing: bool


# Called with the event of each accepted envelope: signed by a replica, but its shape still unchecked.
Handler = Callable[[dict[str, object]], Awaitable[None]]
RECONNECT_MAX_S = 5.0

VERSION = b"v1"
MAX_EVENT_BYTES = 4_096  # an event is a conversation id, a row id or a flag, and the envelope
# How far an event's send time may be from the receiver's clock, either way. Pub/sub delivers at once
# or never (nothing is queued for a disconnected listener), so this only has to cover clock skew
# between replicas and a listener that is briefly behind; older events are replays.
MAX_AGE_S = 30.0
# Sequence numbers a replica accepts out of order from one origin (two publishes of one replica may
# overtake each other on different pooled connections): the newest seen and the SEQ_WINDOW before it.
SEQ_WINDOW = 1024
MAX_ORIGINS = 4096  # replicas remembered (only signed events add one; silent ones are forgotten)
ORIGIN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
UNHEARD_MAX = 1024  # own events remembered until heard back (older ones are checked like any other)
REJECTION_NOTE_EVERY_S = 60.0  # a flood of forged events logs one line per reason per minute


class Rejected(Exception):
    """An event a replica ignores; the message says why, never what the event said."""


@dataclass(frozen=True)
class Envelope:
    origin: str  # the replica process that sent it
    seq: int  # that process's counter, from 1
    ts: float  # when it was sent (Unix time, the sender's clock)
    event: dict[str, object]


class Sealer:
    """Signs events and checks them: ``v1.<hex HMAC-SHA256>.<JSON>``. The MAC covers the JSON as
    sent and the channel, so an event signed for one deployment's channel means nothing on another
    that shares the key."""

    def __init__(self, key: str | bytes, channel: str) -> None:
        self._key = key.encode() if isinstance(key, str) else bytes(key)
        if not self._key:
            raise ValueError("GATEWAY_FANOUT_KEY is empty: the fan-out could not sign its events")
        context = b"aa-fanout\0" + VERSION + b"\0" + channel.encode() + b"\0"
        self._keyed = hmac.new(self._key, context, hashlib.sha256)  # copied for each event: keyed once

    def _mac(self, body: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(body)
        return mac.hexdigest().encode()

    def seal(self, event: Mapping[str, object], *, origin: str, seq: int, ts: float | None = None) -> str:
        body = json.dumps(
            {"origin": origin, "seq": seq, "ts": round(time.time() if ts is None else ts, 3), "event": event},
            separators=(",", ":"),
            ensure_ascii=True,
            default=str,
        ).encode()
        return b".".join((VERSION, self._mac(body), body)).decode()

    def open(self, data: object) -> Envelope:
        """The envelope of a well-formed, correctly signed event; ``Rejected`` otherwise."""
        raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
        if not isinstance(raw, bytes) or len(raw) > MAX_EVENT_BYTES:
            raise Rejected("malformed")
        version, _, rest = raw.partition(b".")
        mac, _, body = rest.partition(b".")
        if version != VERSION or not body:
            raise Rejected("malformed")
        if not hmac.compare_digest(mac, self._mac(body)):
            raise Rejected("bad signature")
        try:
            doc = json.loads(body)
            origin, seq, ts, event = doc["origin"], doc["seq"], doc["ts"], doc["event"]
        except (ValueError, TypeError, KeyError):
            raise Rejected("malformed") from None
        if not (
            isinstance(origin, str)
            and ORIGIN.fullmatch(origin)
            and type(seq) is int
            and 0 < seq < 2**63
            and type(ts) in (int, float)
            and math.isfinite(ts)
            and isinstance(event, dict)
        ):
            raise Rejected("malformed")
        return Envelope(origin, seq, float(ts), event)


class SequenceWindow:
    """The anti-replay window of RFC 4303 (IPsec ESP, 3.4.3) for one origin: the newest sequence
    number accepted and a bitmap of the ``size`` numbers before it. A number is accepted once, if it
    is newer than the newest or inside the window and not yet seen; anything older is refused."""

    def __init__(self, size: int = SEQ_WINDOW) -> None:
        self.size = size
        self.top = 0
        self.seen = 0  # bit i: top - i was accepted

    def admit(self, seq: int) -> bool:
        if seq > self.top:
            shift = seq - self.top
            self.seen = ((self.seen << shift) | 1) & ((1 << self.size) - 1) if shift < self.size else 1
            self.top = seq
            return True
        offset = self.top - seq
        if offset >= self.size or self.seen >> offset & 1:
            return False
        self.seen |= 1 << offset
        return True


class ReplayGuard:
    """What "plausible" means for a correctly signed event: sent within ``max_age_s`` of now (either
    way), and a sequence number its origin has not used before and that is not more than
    ``SEQ_WINDOW`` behind the newest one from that origin. An origin is a replica process (a restart
    is a new origin, counting from 1). An origin silent for three times ``max_age_s`` is forgotten:
    any event of it that was accepted is by then too old to be accepted again."""

    def __init__(self, max_age_s: float = MAX_AGE_S, max_origins: int = MAX_ORIGINS) -> None:
        self.max_age_s = max_age_s
        self.max_origins = max_origins
        self._origins: dict[str, tuple[SequenceWindow, float]] = {}  # oldest heard first

    def admit(self, envelope: Envelope, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if not abs(now - envelope.ts) <= self.max_age_s:  # NaN included
            raise Rejected("sent too long ago, or in the future")
        window, _ = self._origins.pop(envelope.origin, (None, 0.0))
        window = window or SequenceWindow()
        accepted = window.admit(envelope.seq)
        self._origins[envelope.origin] = (window, now)
        self._forget(now)
        if not accepted:
            raise Rejected("sequence number replayed or too old")

    def _forget(self, now: float) -> None:
        while self._origins:
            origin, (_, heard) = next(iter(self._origins.items()))
            if now - heard <= 3 * self.max_age_s and len(self._origins) <= self.max_origins:
                break
            del self._origins[origin]


class Fanout:
    """One process: nobody else to tell. ``RedisFanout`` has the same surface."""

    shared = False  # whether other replicas hear what this one publishes

    async def publish(self, event: FanoutEvent) -> bool:
        return False

    async def start(self, handler: Handler, on_reconnect: Callable[[], Awaitable[None]] | None = None) -> None:
        return None

    async def stop(self) -> None:
        return None

    @property
    def connected(self) -> bool:
        return False


class RedisFanout(Fanout):
    shared = True

    def __init__(
        self,
        url: str,
        *,
        key: str | bytes,
        channel: str = "aa:widget",
        timeout_s: float = 2.0,
        username: str = "",
        password: str = "",
    ) -> None:
        self.url = url
        self.channel = channel
        self.timeout_s = timeout_s
        self.username = username
        self.password = password
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # this replica: its own events are skipped
        self.sealer = Sealer(key, channel)
        self.guard = ReplayGuard()
        self.rejected: Counter[str] = Counter()  # events ignored, by reason
        self._unnoted: Counter[str] = Counter()
        self._noted: dict[str, float] = {}
        self._seq = itertools.count(1)
        # What this replica published and has not heard back yet: its own events are recognised by
        # their bytes, without checking a signature it made itself.
        self._unheard: dict[bytes, None] = {}
        self._redis: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False

    def _client(self) -> Redis:
        import redis.asyncio as aioredis

        # Credentials from the settings, or from the URL (redis://user:password@host); a username with
        # no password logs in with an empty one, and Redis refuses it.
        given = bool(self.username or self.password)
        return aioredis.Redis.from_url(
            self.url,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            health_check_interval=10,
            retry_on_timeout=False,
            username=self.username if given else None,
            password=self.password if given else None,
            # bytes: whatever is published, even invalid UTF-8, reaches Sealer.open rather than
            # failing inside the client (which would look like a lost connection)
            decode_responses=False,
            client_name=f"{self.channel}:{self.origin}",
        )  # CLIENT LIST shows whose connection it is

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def publish(self, event: FanoutEvent) -> bool:
        """Tell the other replicas; False (logged) when Redis can't be reached in time: the
        other replicas' history pollers deliver it a little later instead."""
        if self._redis is None:
            self._redis = self._client()
        data = self.sealer.seal(event, origin=self.origin, seq=next(self._seq))
        self._unheard[data.encode()] = None
        while len(self._unheard) > UNHEARD_MAX:  # published while the listener was away
            del self._unheard[next(iter(self._unheard))]
        try:
            await asyncio.wait_for(self._redis.publish(self.channel, data), self.timeout_s)
            return True
        except Exception as error:
            log.warning("fanout: publish failed (%s); other replicas poll the database instead", error)
            return False

    async def start(self, handler: Handler, on_reconnect: Callable[[], Awaitable[None]] | None = None) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._listen(handler, on_reconnect), name="fanout-listener")

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _listen(self, handler: Handler, on_reconnect: Callable[[], Awaitable[None]] | None) -> None:
        backoff = 0.2
        while not self._stopping:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await asyncio.wait_for(pubsub.subscribe(self.channel), self.timeout_s)
                self._connected.set()
                log.info("fanout: listening on redis channel %s", self.channel)
                backoff = 0.2
                if on_reconnect is not None:
                    await on_reconnect()  # what was published while this replica wasn't listening
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    await self._dispatch(handler, message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self._connected.is_set():
                    log.warning("fanout: redis connection lost (%s); reconnecting", error)
                self._connected.clear()
                await asyncio.sleep(backoff)
                backoff = min(RECONNECT_MAX_S, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), self.timeout_s)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), self.timeout_s)
        self._connected.clear()

    async def _dispatch(self, handler: Handler, data: object) -> None:
        if isinstance(data, bytes) and self._unheard.pop(data, False) is None:
            return  # our own, heard back
        try:
            envelope = self.sealer.open(data)
            if envelope.origin == self.origin:
                return  # our own, heard back
            self.guard.admit(envelope)
        except Rejected as why:
            self._reject(str(why))
            return
        try:
            await handler(envelope.event)
        except Exception:
            log.exception("fanout: handling an event failed")

    def _reject(self, reason: str) -> None:
        """Count it; log the reason (never the content: it is the attacker's text) at most once
        per REJECTION_NOTE_EVERY_S, with how many were ignored since the last line."""
        self.rejected[reason] += 1
        self._unnoted[reason] += 1
        now = time.monotonic()
        if now - self._noted.get(reason, -REJECTION_NOTE_EVERY_S) >= REJECTION_NOTE_EVERY_S:
            self._noted[reason] = now
            log.warning(
                "fanout: ignored %d event(s) on redis channel %s: %s (someone else publishes there, "
                "or a replica has another GATEWAY_FANOUT_KEY)",
                self._unnoted.pop(reason),
                self.channel,
                reason,
            )

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), self.timeout_s)
            self._redis = None


def fanout_from(url: str, prefix: str, timeout_s: float, *, key: str, username: str = "", password: str = "") -> Fanout:
    """``RedisFanout`` when a Redis URL is set, else the single-process ``Fanout``."""
    if not url:
        return Fanout()
    return RedisFanout(
        url, channel=f"{prefix}:widget", timeout_s=timeout_s, key=key, username=username, password=password
    )
