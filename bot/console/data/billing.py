"""The console's client of billing: its own read-only token (``BILLING_CONSOLE_TOKEN``, billing's
``console:read`` scope, bot/billing/api/routes/console.py). Synchronous, as the indexer is; every
call has a timeout, and a billing that is down or refuses is ``BillingUnavailable``: the indexer
then leaves organisations and order totals to a later run and indexes the rest.

Organisations are cached per email (``cache_s``), found or not, since an index run asks about the
same few customers over and over."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import httpx


class BillingUnavailable(Exception):
    """Billing did not answer, or refused the console's token; ``str()`` says which."""


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str


@dataclass(frozen=True)
class PlacedOrder:
    number: str
    org: str
    org_name: str
    placed_at: datetime
    total_minor: int
    currency: str


class ConsoleBilling:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 5.0,
        cache_s: float = 900.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=transport,
            trust_env=False,
        )
        self.cache_s = cache_s
        self._orgs: dict[str, tuple[float, Organisation | None]] = {}

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str | list[str]]) -> httpx.Response:
        try:
            answer = self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise BillingUnavailable(f"billing did not answer ({type(error).__name__})") from None
        if answer.status_code in (401, 403):
            raise BillingUnavailable(
                f"billing refused the console's token ({answer.status_code}): check BILLING_CONSOLE_TOKEN"
            )
        if answer.status_code >= 500:
            raise BillingUnavailable(f"billing failed ({answer.status_code})")
        return answer

    def organisation(self, email: str) -> Organisation | None:
        """The organisation of this customer, or None when billing has no such user."""
        key = email.strip().lower()
        cached = self._orgs.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        answer = self._get("/v1/console/organisations", {"email": key})
        found = None
        if answer.status_code == 200:
            body = answer.json()
            found = Organisation(str(body["id"]), str(body["name"]))
        elif answer.status_code not in (404, 422):
            raise BillingUnavailable(f"billing answered {answer.status_code}")
        self._orgs[key] = (time.monotonic(), found)
        return found

    def orders(self, numbers: Iterable[str]) -> dict[str, PlacedOrder]:
        """Of these order numbers, those billing knows as placed through the assistant."""
        wanted = sorted(set(numbers))
        found: dict[str, PlacedOrder] = {}
        for start in range(0, len(wanted), 100):  # a URL of reasonable length
            answer = self._get("/v1/console/orders", {"number": wanted[start : start + 100]})
            if answer.status_code != 200:
                raise BillingUnavailable(f"billing answered {answer.status_code}")
            for row in answer.json()["orders"]:
                found[row["number"]] = PlacedOrder(
                    number=row["number"],
                    org=str(row["org"]),
                    org_name=str(row["org_name"]),
                    placed_at=datetime.fromisoformat(row["placed_at"]),
                    total_minor=int(row["total"]),
                    currency=str(row["currency"]),
                )
        return found
