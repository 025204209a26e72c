"""Sending one API call: a deadline for the whole call, retries only where repeating is safe,
and every failure turned into a ``BillingError``. The request id bound where the call is made (the
customer's turn, bot/telemetry/request_ids.py) goes with it in ``X-Request-Id``.

Safety of a call decides its retries and what a failure may honestly say:
- ``read``: GET. Retried on connection errors and 502/503/504.
- ``keyed``: a POST carrying an Idempotency-Key (orders, payments). Retried likewise: the
  backend applies a key once and answers a replay with the first result.
- ``write``: any other POST/PATCH. Never retried: a lost answer may hide an applied change.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import httpx

from bot.telemetry import request_ids

from .errors import (
    NOT_ANSWERING,
    NOT_ANSWERING_SAFE_TO_RETRY,
    NOT_ANSWERING_UNKNOWN,
    UNREACHABLE,
    BillingError,
    Unavailable,
    error_from_response,
)

log = logging.getLogger("bot.billing_client")

Safety = Literal["read", "keyed", "write"]
RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_S = (0.1, 0.3, 0.6)  # pause before the 1st, 2nd, 3rd retry
MIN_ATTEMPT_S = 0.25  # no retry unless at least this much of the budget is left after the pause
_NO_ANSWER = {"read": NOT_ANSWERING, "keyed": NOT_ANSWERING_SAFE_TO_RETRY, "write": NOT_ANSWERING_UNKNOWN}


class Http:
    """The shared connection pool and retry policy behind ``BillingClient``."""

    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        timeout: float,
        connect_timeout: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.timeout = float(timeout)
        self.connect_timeout = min(float(connect_timeout), self.timeout)
        self.retries = max(0, int(retries))
        # trust_env=False: a service-to-service call must not wander through a desktop proxy.
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {service_token}",
                "Accept": "application/json",
                "User-Agent": "account-assistant-billing-client/1",
            },
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def deadline(self) -> float:
        """The moment a call started now must be answered by (event-loop clock)."""
        return asyncio.get_running_loop().time() + self.timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        safety: Safety,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded JSON) of a 2xx answer; otherwise raises a ``BillingError``."""
        loop = asyncio.get_running_loop()
        deadline = deadline if deadline is not None else loop.time() + self.timeout
        if (rid := request_ids.current()) is not None:  # the turn's id, for billing's log lines
            headers = {**(headers or {}), request_ids.HEADER: rid}
        attempts = self._attempts(method, path, safety, params, body, headers, deadline)
        try:  # the hard stop: also bounds a server that trickles bytes past httpx's per-read timeout
            return await asyncio.wait_for(attempts, timeout=max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            log.warning("billing %s %s: no answer within %.1fs", method, path, self.timeout)
            raise _no_answer(safety, "timeout") from None

    async def _attempts(
        self,
        method: str,
        path: str,
        safety: Safety,
        params: dict[str, Any] | None,
        body: Any,
        headers: dict[str, str] | None,
        deadline: float,
    ) -> tuple[int, Any]:
        loop = asyncio.get_running_loop()
        retries = self.retries if safety != "write" else 0
        failure: BillingError | None = None
        for attempt in range(retries + 1):
            if failure is not None:  # every attempt but the first: the one before failed
                pause = BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1]
                if deadline - loop.time() - pause < MIN_ATTEMPT_S:
                    break  # the budget is spent: report the last failure rather than time out
                log.info(
                    "billing %s %s: %s (%s); retry %d in %.1fs",
                    method,
                    path,
                    failure.code,
                    failure.status or "no answer",
                    attempt,
                    pause,
                )
                await asyncio.sleep(pause)
            remaining = max(0.01, deadline - loop.time())
            timeout = httpx.Timeout(remaining, connect=min(self.connect_timeout, remaining))
            try:
                response = await self.client.request(
                    method, path, params=params, json=body, headers=headers, timeout=timeout
                )
            except httpx.RequestError as exc:
                failure = _transport_failure(exc, safety)
                failure.__cause__ = exc
                continue
            if response.status_code in RETRY_STATUSES:
                failure = error_from_response(response.status_code, _json_or_none(response))
                continue
            return _result(response)
        assert failure is not None
        raise failure


def _transport_failure(exc: httpx.RequestError, safety: Safety) -> Unavailable:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):  # nothing was sent
        return Unavailable(UNREACHABLE, code="unreachable")
    return _no_answer(safety, "timeout" if isinstance(exc, httpx.TimeoutException) else "no_answer")


def _no_answer(safety: Safety, code: str) -> Unavailable:
    """Sent, unanswered. A keyed write may have been applied, and sending the same key again
    applies it at most once: ``details["safe_to_retry"]`` says so to whoever can resend it."""
    return Unavailable(_NO_ANSWER[safety], code=code, details={"safe_to_retry": True} if safety == "keyed" else None)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _result(response: httpx.Response) -> tuple[int, Any]:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return status, response.json()
        except ValueError:
            raise Unavailable("Billing gave an answer I couldn't read.", code="bad_response", status=status) from None
    if status >= 400:
        raise error_from_response(status, _json_or_none(response))
    raise Unavailable("Billing gave an answer I couldn't read.", code="bad_response", status=status)
