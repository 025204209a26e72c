"""``ActingClient``: the billing API as seen by one acting user (or visitor) on one channel, made
by ``BillingClient.as_user`` / ``as_visitor`` (client.py). Its methods follow the API: catalog,
account, quotes and orders, invoices and payments, people (cases, handoffs, callbacks), Slack
workspaces. Each call sends the acting identity's headers; answers are parsed into the types of
models.py, and an answer that doesn't parse is ``Unavailable(code="bad_response")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote as _quote

from ._http import Http, Safety
from .errors import Unavailable
from .models import (
    PROFILE_FIELDS,
    Balance,
    BillingProfile,
    Callback,
    Card,
    Case,
    Contact,
    Contract,
    Estimate,
    Handoff,
    Invoice,
    Lead,
    Link,
    Me,
    Order,
    Payment,
    Product,
    Quote,
    SharedInvoice,
    UpgradeOutcome,
)

__all__ = ["ActingClient"]

T = TypeVar("T")
Replayable = TypeVar("Replayable", Order, Payment)  # what a keyed write returns


def _parse(parse: Callable[[Any], T], data: Any) -> T:
    try:
        return parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unavailable("Billing gave an answer I couldn't read.", code="bad_response") from exc


def _many(parse: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    def parse_list(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise TypeError("expected a list")
        return [parse(x) for x in data]

    return parse_list


def _segment(value: str, what: str) -> str:
    """A path segment from a user-supplied number: stripped, required, and escaped."""
    text = str(value or "").strip()
    if not text:
        raise ValueError(f"{what} number is required")
    return _quote(text, safe="")


class ActingClient:
    """The billing API as seen by one acting user (or visitor) on one channel. Cheap: make one
    per conversation turn with ``BillingClient.as_user``/``as_visitor``."""

    __slots__ = ("_http", "email", "channel", "slack_team")

    def __init__(self, http: Http, email: str | None, channel: str, slack_team: str | None = None) -> None:
        self._http = http
        self.email = email
        self.channel = channel
        self.slack_team = slack_team

    def __repr__(self) -> str:
        return f"ActingClient(email={self.email!r}, channel={self.channel!r}, slack_team={self.slack_team!r})"

    async def _call(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        safety: Safety = "read",
        params: dict[str, Any] | None = None,
        body: Any = None,
        key: str | None = None,
        deadline: float | None = None,
    ) -> tuple[int, T]:
        headers = {"X-Channel": self.channel}
        if self.email:
            headers["X-Acting-User"] = self.email
        if self.slack_team:
            headers["X-Slack-Team"] = self.slack_team
        if key is not None:
            headers["Idempotency-Key"] = key
        status, data = await self._http.call(
            method, path, safety=safety, params=params, body=body, headers=headers, deadline=deadline
        )
        return status, _parse(parse, data)

    async def _get(self, path: str, parse: Callable[[Any], T], params: dict[str, Any] | None = None) -> T:
        return (await self._call("GET", path, parse, params=params))[1]

    async def _write(self, method: str, path: str, parse: Callable[[Any], T], body: Any = None) -> T:
        return (await self._call(method, path, parse, safety="write", body=body))[1]

    # -- catalog (same as on BillingClient) -------------------------------------------------------

    async def catalog(self, currency: str = "USD", kind: str | None = None) -> list[Product]:
        """See ``BillingClient.catalog``."""
        params = {"currency": currency, **({"kind": kind} if kind else {})}
        return await self._get("/v1/catalog", _many(Product.from_json), params)

    async def estimate(self, product: str, quantity: int, currency: str = "USD") -> Estimate:
        params = {"product": product, "quantity": quantity, "currency": currency}
        return await self._get("/v1/catalog/estimate", Estimate.from_json, params)

    # -- account ----------------------------------------------------------------------------------

    async def me(self) -> Me:
        """Who the user is, their org and edition; the contract only with Manage Billing."""
        return await self._get("/v1/me", Me.from_json)

    async def update_contact(self, *, name: str | None = None, phone: str | None = None) -> Contact:
        """The user's own name and/or phone (no Manage Billing needed); "" as phone removes it."""
        body = {k: v for k, v in (("name", name), ("phone", phone)) if v is not None}
        return await self._write("PATCH", "/v1/me", Contact.from_json, body)

    async def contracts(self) -> list[Contract]:
        return await self._get("/v1/contracts", _many(Contract.from_json))

    async def billing_profile(self) -> BillingProfile:
        return await self._get("/v1/billing-profile", BillingProfile.from_json)

    async def update_billing_profile(self, **fields: str | None) -> BillingProfile:
        """Change some of: contact_name, contact_email, contact_phone, address_line1, address_line2,
        city, region, postal_code, country. None leaves a field as it is, "" clears it. The backend
        checks every field before saving any (``Invalid`` with ``fields``)."""
        unknown = sorted(set(fields) - set(PROFILE_FIELDS))
        if unknown:
            raise TypeError(f"unknown billing profile field(s): {', '.join(unknown)}")
        body = {name: value for name, value in fields.items() if value is not None}
        return await self._write("PATCH", "/v1/billing-profile", BillingProfile.from_json, body)

    async def payment_method(self) -> Card | None:
        """The card on file, or None."""
        return await self._get("/v1/payment-method", lambda d: None if d is None else Card.from_json(d))

    async def payment_method_link(self) -> Link:
        """A short-lived signed link to the card form: card numbers never pass through the bot."""
        return await self._write("POST", "/v1/payment-method/link", Link.from_json)

    # -- quotes and orders ------------------------------------------------------------------------

    async def quote_add_licenses(self, quantity: int, product: str | None = None) -> Quote:
        """Quote more units of a product already on the contract (``product`` may be omitted when
        the contract has a single per-user product)."""
        return await self._write(
            "POST", "/v1/quotes/add-licenses", Quote.from_json, {"quantity": quantity, "product": product}
        )

    async def quote_add_product(self, product: str, quantity: int = 1) -> Quote:
        """Quote a product or add-on the contract does not have yet."""
        return await self._write(
            "POST", "/v1/quotes/add-product", Quote.from_json, {"product": product, "quantity": quantity}
        )

    async def request_upgrade(self, edition: str) -> UpgradeOutcome:
        """A quote to confirm, or (from Essentials) a sales handoff."""
        return await self._write("POST", "/v1/upgrades", UpgradeOutcome.from_json, {"edition": edition})

    async def get_quote(self, number: str) -> Quote:
        return await self._get(f"/v1/quotes/{_segment(number, 'a quote')}", Quote.from_json)

    async def place_order(self, quote: Quote | str, *, idempotency_key: str | None = None) -> Order:
        """Apply a quote, exactly once. Given a ``Quote``, its own idempotency key is used; given a
        quote number, the quote is read first for its key (unless ``idempotency_key`` is given).
        Retried on connection errors and 502/503/504; a replay returns the first order with
        ``created=False``."""
        deadline = self._http.deadline()
        key: str | None
        if isinstance(quote, Quote):
            number, key = quote.number, idempotency_key or quote.idempotency_key
        else:
            number, key = quote, idempotency_key
            if not key:
                _, found = await self._call(
                    "GET", f"/v1/quotes/{_segment(number, 'a quote')}", Quote.from_json, deadline=deadline
                )
                number, key = found.number, found.idempotency_key
        status, order = await self._call(
            "POST", "/v1/orders", Order.from_json, safety="keyed", body={"quote": number}, key=key, deadline=deadline
        )
        return order if status == 201 else _replayed(order)

    async def get_order(self, number: str) -> Order:
        return await self._get(f"/v1/orders/{_segment(number, 'an order')}", Order.from_json)

    # -- invoices and payments --------------------------------------------------------------------

    async def invoices(
        self,
        *,
        status: str | None = None,
        year: int | None = None,
        month: int | None = None,
        since: date | None = None,
        until: date | None = None,
        limit: int = 20,
    ) -> list[Invoice]:
        """Newest first. ``status``: open, paid, void or overdue."""
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("status", status), ("year", year), ("month", month)):
            if value is not None:
                params[name] = value
        for name, day in (("since", since), ("until", until)):
            if day is not None:
                params[name] = day.isoformat()
        return await self._get("/v1/invoices", _many(Invoice.from_json), params)

    async def invoice(self, number: str) -> Invoice:
        return await self._get(f"/v1/invoices/{_segment(number, 'an invoice')}", Invoice.from_json)

    async def download_link(self, number: str) -> Link:
        """A signed, short-lived link to the invoice PDF."""
        return await self._write("POST", f"/v1/invoices/{_segment(number, 'an invoice')}/download-link", Link.from_json)

    async def share_invoice(self, number: str, to: str | Sequence[str], note: str = "") -> SharedInvoice:
        """Email the invoice PDF to one or more addresses (at most 5)."""
        recipients = [to] if isinstance(to, str) else list(to)
        return await self._write(
            "POST",
            f"/v1/invoices/{_segment(number, 'an invoice')}/share",
            SharedInvoice.from_json,
            {"to": recipients, "note": note},
        )

    async def pay_invoice(self, number: str, idempotency_key: str) -> Payment:
        """Pay an open invoice with the card on file. The same key never charges twice (a replay
        returns the first payment with ``created=False``); retried like ``place_order``."""
        if not idempotency_key:
            raise ValueError("pay_invoice needs an idempotency key (e.g. derived from the invoice and conversation)")
        path = f"/v1/invoices/{_segment(number, 'an invoice')}/payments"
        status, payment = await self._call("POST", path, Payment.from_json, safety="keyed", key=idempotency_key)
        return payment if status == 201 else _replayed(payment)

    async def balance(self) -> Balance:
        """What is owed, what is overdue, and the next due date."""
        return await self._get("/v1/balance", Balance.from_json)

    # -- people: support cases, handoffs, callbacks -----------------------------------------------

    async def open_case(self, subject: str, description: str, priority: str = "normal") -> Case:
        """priority: low, normal, high or urgent."""
        return await self._write(
            "POST", "/v1/cases", Case.from_json, {"subject": subject, "description": description, "priority": priority}
        )

    async def cases(self, open_only: bool = False) -> list[Case]:
        return await self._get("/v1/cases", _many(Case.from_json), {"open_only": open_only})

    async def case(self, number: str) -> Case:
        return await self._get(f"/v1/cases/{_segment(number, 'a case')}", Case.from_json)

    async def add_case_note(self, number: str, text: str) -> Case:
        """Add what the customer said later to their case (kept after its description)."""
        return await self._write(
            "POST", f"/v1/cases/{_segment(number, 'a case')}/notes", Case.from_json, {"text": text}
        )

    async def open_handoff(
        self,
        queue: str,
        reason: str,
        *,
        intent: str | None = None,
        lead: Lead | None = None,
        transcript: Sequence[Mapping[str, Any]] = (),
        page_url: str | None = None,
        conversation_id: str | None = None,
    ) -> Handoff:
        """Hand the conversation to a person (``queue``: sales or support). A visitor needs
        ``lead``; a known user is recognised from the acting identity."""
        body = {
            "queue": queue,
            "reason": reason,
            "intent": intent,
            "lead": lead.to_json() if lead else None,
            "transcript": [dict(t) for t in transcript],
            "page_url": page_url,
            "conversation_id": conversation_id,
        }
        return await self._write("POST", "/v1/handoffs", Handoff.from_json, body)

    async def handoff(self, number: str, *, conversation_id: str | None = None) -> Handoff:
        """Members of the handoff's org see it; a visitor's handoff needs its ``conversation_id``."""
        params = {"conversation_id": conversation_id} if conversation_id else None
        return await self._get(f"/v1/handoffs/{_segment(number, 'a handoff')}", Handoff.from_json, params)

    async def request_callback(
        self,
        name: str,
        phone: str,
        *,
        window_start: datetime,
        window_end: datetime,
        timezone: str,
        queue: str = "sales",
        note: str = "",
        handoff: str | None = None,
        conversation_id: str | None = None,
    ) -> Callback:
        """Ask for a call back between two aware datetimes; ``timezone`` is the caller's IANA zone."""
        body = {
            "queue": queue,
            "name": name,
            "phone": phone,
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            "timezone": timezone,
            "note": note,
            "handoff": handoff,
            "conversation_id": conversation_id,
        }
        return await self._write("POST", "/v1/callbacks", Callback.from_json, body)

    # -- Slack workspaces -------------------------------------------------------------------------

    async def link_slack_workspace(self, team_id: str) -> str:
        """Link Slack team ``team_id`` (the one this Slack identity was verified in) to the acting
        user's org; the user must be a system administrator. Returns the org's name."""
        return await self._write("POST", "/v1/slack/workspaces", lambda d: str(d["org"]), {"team_id": team_id})


def _replayed(obj: Replayable) -> Replayable:
    """The same object, marked as the one an earlier request created (HTTP 200, not 201)."""
    return replace(obj, created=False)
