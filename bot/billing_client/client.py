"""``BillingClient``: the one typed async client for the billing API (/v1).

    async with BillingClient.from_env() as billing:
        prices = await billing.catalog("EUR")                      # public: no user needed
        alex = billing.as_user("alex@acme.example", channel="slack")
        quote = await alex.quote_add_licenses(2, product="enterprise")
        order = await alex.place_order(quote)                      # the quote's idempotency key

Everything about an account goes through an ``ActingClient`` (``as_user`` / ``as_visitor``):
there is no way to call a billing method without saying whom it is for and through which
channel. The backend checks the permissions itself; this client never decides them.

This module holds the connection (token, timeouts, retries), the choice of identity and the
public catalog; ``ActingClient``'s account methods are in acting.py (re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from ._http import Http
from .acting import ActingClient
from .models import Estimate, Product

__all__ = ["ActingClient", "BillingClient", "CHANNELS", "Channel"]

Channel = Literal["slack", "widget", "shell", "api", "web", "test", "phone"]
CHANNELS: tuple[str, ...] = ("slack", "widget", "shell", "api", "web", "test", "phone")
DEFAULT_URL = "http://127.0.0.1:8001"
DEFAULT_TOKEN = "dev-service-token"


class BillingClient:
    """Connection to the billing API: service token, timeouts and retry policy.

    ``timeout`` bounds each call end to end, retries included (seconds; default 5, so the bot
    can answer within 5 s even when billing is down); ``connect_timeout`` bounds opening a
    connection (default 2). ``retries`` (default 2) applies to GETs and to POSTs carrying an
    Idempotency-Key only, on connection errors and 502/503/504. ``transport`` is handed to
    ``httpx.AsyncClient`` (tests, custom TLS).
    """

    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = Http(
            self.base_url,
            service_token,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            transport=transport,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> BillingClient:
        """The action server's client: from BILLING_URL (default http://127.0.0.1:8001),
        BILLING_ACTIONS_TOKEN (its own token at billing, the one allowed to act as a customer;
        development default dev-service-token) and BILLING_TIMEOUT_S (default 5). ``options``
        override. Other callers pass their own token to the constructor (the gateway:
        BILLING_GATEWAY_TOKEN)."""
        env = os.environ if environ is None else environ
        if env.get("BILLING_TIMEOUT_S"):
            options.setdefault("timeout", float(env["BILLING_TIMEOUT_S"]))
        return cls(env.get("BILLING_URL") or DEFAULT_URL, env.get("BILLING_ACTIONS_TOKEN") or DEFAULT_TOKEN, **options)

    async def __aenter__(self) -> BillingClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"BillingClient({self.base_url!r})"

    # -- identity ---------------------------------------------------------------------------------

    def as_user(self, email: str, *, channel: Channel, slack_team: str | None = None) -> ActingClient:
        """Calls on behalf of a verified user (the gateway verified them: Slack, a signed JWT). A
        Slack identity names the Slack team it was verified in: billing acts for it only when that
        workspace is linked to the user's org."""
        email = (email or "").strip()
        if "@" not in email:
            raise ValueError("as_user needs the acting user's email address")
        return ActingClient(self._http, email, _channel(channel), slack_team or None)

    def as_visitor(self, *, channel: Channel) -> ActingClient:
        """Calls for an anonymous visitor: prices, sales handoffs with lead details, callbacks.
        Account calls made this way are refused by the backend (``Forbidden``, no_acting_user)."""
        return ActingClient(self._http, None, _channel(channel))

    # -- public catalog ---------------------------------------------------------------------------

    async def catalog(self, currency: str = "USD", kind: str | None = None) -> list[Product]:
        """Products with their list price per unit per month in ``currency``; ``kind``: edition,
        addon or product."""
        return await self.as_visitor(channel="api").catalog(currency, kind)

    async def estimate(self, product: str, quantity: int, currency: str = "USD") -> Estimate:
        """List price of ``quantity`` units: 'how much is Enterprise for 40 users?'."""
        return await self.as_visitor(channel="api").estimate(product, quantity, currency)


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    return channel
