"""The billing client against the real billing API on loopback (the ``billing_server`` fixture),
plus its timeout and retry policy against servers that are down, silent or failing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import func, select

from bot.billing.adapters.orm import Order, SupportCase
from bot.billing.adapters.orm import Quote as QuoteRow
from bot.billing_client import (
    BillingClient,
    Conflict,
    Estimate,
    Forbidden,
    Invalid,
    Lead,
    Me,
    Money,
    NotFound,
    Product,
    Quote,
    Unauthorized,
    Unavailable,
)
from bot.billing_client._json import parse_datetime
from tests.conftest import SERVICE_TOKEN

ALEX, SAM, OLIVIA = "alex@acme.example", "sam@acme.example", "olivia@bluebird.example"


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
async def billing(billing_server, db):
    async with BillingClient(billing_server.url, SERVICE_TOKEN) as client:
        yield client


def assert_money(value: Money, currency: str) -> None:
    assert isinstance(value, Money) and type(value.amount) is int and value.currency == currency
    assert value.formatted


# -- the API, typed ------------------------------------------------------------------------------


async def test_catalog_and_estimate_parse_into_typed_objects(billing, db):
    products = await billing.catalog("EUR")
    assert products and all(isinstance(p, Product) for p in products)
    by_code = {p.code: p for p in products}
    assert by_code["enterprise"].price == Money(15000, "EUR", "€150.00")
    assert by_code["essentials"].max_quantity == 10 and by_code["essentials"].available_on_essentials is True
    addons = await billing.catalog("USD", kind="addon")
    assert addons and {p.kind for p in addons} == {"addon"}
    for p in addons:
        assert_money(p.price, "USD")

    estimate = await billing.estimate("enterprise", 40)
    assert isinstance(estimate, Estimate) and estimate.quantity == 40
    assert estimate.monthly == Money(660_000, "USD", "$6,600.00")
    assert estimate.annual.amount == 7_920_000 and type(estimate.annual.amount) is int
    assert str(estimate.unit_price) == "$165.00"


async def test_me_is_typed_and_contract_only_for_billing_users(billing, db):
    me = await billing.as_user(ALEX, channel="test").me()
    assert isinstance(me, Me) and (me.org, me.edition, me.manage_billing) == ("Acme Corp", "Enterprise", True)
    assert isinstance(me.contract.term_start, date) and me.contract.term_start < me.contract.term_end
    assert {line.product: line.quantity for line in me.contract.lines}["enterprise"] == 40
    assert_money(me.contract.monthly_total, "USD")
    sam = await billing.as_user(SAM, channel="test").me()
    assert sam.contract is None and [a.email for a in sam.admins] == [ALEX]


async def test_quote_then_order_is_applied_once(billing, db):
    alex = billing.as_user(ALEX, channel="test")
    quote = await alex.quote_add_licenses(2, product="enterprise")
    assert isinstance(quote, Quote) and quote.quantity == 2 and quote.status == "open"
    assert quote.expires_at.tzinfo is not None and isinstance(quote.effective_date, date)
    assert_money(quote.prorated_amount, "USD")
    assert quote.new_monthly_total.amount == 747_500 + 2 * 16_500

    first = await alex.place_order(quote)  # the quote's own idempotency key
    again = await alex.place_order(quote)
    by_number = await alex.place_order(quote.number)  # reads the quote for its key
    assert first.number.startswith("ORD-") and first.created is True
    assert again.number == first.number and again.created is False
    assert by_number.number == first.number and by_number.created is False
    assert first.resulting_quantity == 42 and first.invoice.total == quote.prorated_amount
    assert count(db, Order) == 1
    assert (await alex.get_order(first.number)).quote.number == quote.number
    assert (await alex.get_quote(quote.number)).status == "ordered"


async def test_forbidden_names_the_admins(billing, db):
    sam = billing.as_user(SAM, channel="test")
    with pytest.raises(Forbidden) as caught:
        await sam.quote_add_licenses(2, product="enterprise")
    err = caught.value
    assert (err.status, err.code) == (403, "needs_manage_billing")
    assert err.admins == [("Alex Rivera", ALEX)] and "Manage Billing" in err.message
    with pytest.raises(Forbidden) as caught:
        await billing.as_visitor(channel="widget").balance()
    assert caught.value.code == "no_acting_user" and caught.value.admins == []


async def test_unknown_invoice_is_not_found(billing, db):
    with pytest.raises(NotFound) as caught:
        await billing.as_user(ALEX, channel="test").invoice("INV-9999")
    assert (caught.value.status, caught.value.code) == (404, "unknown_invoice")
    assert "INV-9999" in caught.value.message


async def test_the_servers_validation_comes_back_as_invalid_with_fields(billing, db):
    alex = billing.as_user(ALEX, channel="test")
    with pytest.raises(Invalid) as caught:
        await alex.quote_add_licenses(0, product="enterprise")  # the client does not pre-validate
    assert caught.value.status == 422 and "quantity" in caught.value.fields
    assert count(db, QuoteRow) == 0
    with pytest.raises(Invalid) as caught:
        await alex.update_billing_profile(country="USA")
    assert caught.value.fields == {"country": "at most 2 characters"}
    with pytest.raises(Invalid) as caught:
        await billing.estimate("enterprise", 0)
    assert "quantity" in caught.value.fields


async def test_conflicts_and_upgrade_outcomes(billing, db):
    with pytest.raises(Conflict) as caught:
        await billing.as_user(ALEX, channel="test").request_upgrade("enterprise")
    assert caught.value.code == "same_edition"
    upgrade = await billing.as_user(ALEX, channel="test").request_upgrade("unlimited")
    assert upgrade.outcome == "quote" and upgrade.quote.from_product == "enterprise" and upgrade.handoff is None
    essentials = await billing.as_user(OLIVIA, channel="test").request_upgrade("professional")
    assert essentials.outcome == "handoff" and essentials.handoff.queue == "sales" and essentials.quote is None


async def test_invoices_payments_and_people(billing, db):
    alex = billing.as_user(ALEX, channel="test")
    listed = await alex.invoices(status="overdue")
    assert [i.number for i in listed] == ["INV-1041"] and listed[0].overdue is True
    assert isinstance(listed[0].due_date, date) and listed[0].lines
    balance = await alex.balance()
    assert_money(balance.overdue_total, "USD")
    assert balance.overdue_total == listed[0].total
    card = await alex.payment_method()
    assert (card.brand, card.last4) == ("visa", "4242")
    payment = await alex.pay_invoice("INV-1041", "pay-INV-1041-test")
    replay = await alex.pay_invoice("INV-1041", "pay-INV-1041-test")
    assert payment.created and not replay.created and replay.number == payment.number
    assert payment.amount == listed[0].total
    link = await alex.download_link("INV-1041")
    assert "/v1/invoice-files/" in link.url and link.expires_at.tzinfo is not None

    case = await alex.open_case("Login trouble", "Two users cannot log in.", priority="high")
    assert (await alex.case(case.number)) == case and case in await alex.cases(open_only=True)
    handoff = await alex.open_handoff("support", "wants a person", transcript=[{"role": "user", "text": "hi"}])
    assert handoff.org_id is not None and (await alex.handoff(handoff.number)).number == handoff.number
    visitor = billing.as_visitor(channel="widget")
    lead = await visitor.open_handoff(
        "sales", "pricing question", lead=Lead("Vi Visitor", "vi@prospect.example"), conversation_id="widget-visitor-1"
    )
    assert (lead.org_id, lead.lead_email, lead.channel) == (None, "vi@prospect.example", "widget")
    assert (await visitor.handoff(lead.number, conversation_id="widget-visitor-1")).number == lead.number
    with pytest.raises(NotFound):
        await visitor.handoff(lead.number)  # a guessed number shows nothing


async def test_profile_contact_sharing_and_callbacks(billing, db, monkeypatch, tmp_path):
    from bot.billing.config import get_settings

    monkeypatch.setattr(get_settings(), "outbox_dir", tmp_path / "outbox")  # no SMTP: mail lands here
    alex = billing.as_user(ALEX, channel="test")
    profile = await alex.update_billing_profile(city="Oakland", address_line2="", region=None)
    assert (profile.city, profile.address_line2, profile.region, profile.country) == ("Oakland", "", "CA", "US")
    assert await alex.billing_profile() == profile
    with pytest.raises(TypeError):
        await alex.update_billing_profile(favourite_colour="teal")
    contact = await billing.as_user(SAM, channel="test").update_contact(phone="415 555 0142")
    assert (contact.name, contact.phone) == ("Sam Lee", "+14155550142")

    shared = await alex.share_invoice("INV-1041", "AP@Acme.example", note="for the books")
    assert shared.invoice == "INV-1041" and shared.sent_to == ("ap@acme.example",)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    start = datetime.now(timezone.utc) + timedelta(days=1)
    callback = await alex.request_callback(
        "Alex Rivera",
        "+14155550101",
        window_start=start,
        window_end=start + timedelta(hours=2),
        timezone="America/New_York",
    )
    assert callback.status == "pending" and callback.window_start == start
    with pytest.raises(Invalid) as caught:
        await alex.request_callback(
            "Alex Rivera", "+14155550101", window_start=start, window_end=start, timezone="Mars/Olympus"
        )
    assert set(caught.value.fields) == {"timezone", "window"}


async def test_a_bad_service_token_is_unauthorized(billing_server, db):
    async with BillingClient(billing_server.url, "not-the-token") as client:
        with pytest.raises(Unauthorized) as caught:
            await client.as_user(ALEX, channel="test").me()
    assert caught.value.status == 401 and caught.value.code == "bad_service_token"


def test_from_env_and_identity_guards(monkeypatch):
    client = BillingClient.from_env({"BILLING_URL": "http://billing.internal:9000/", "BILLING_TIMEOUT_S": "3"})
    assert client.base_url == "http://billing.internal:9000" and client._http.timeout == 3.0
    monkeypatch.delenv("BILLING_URL", raising=False)
    assert BillingClient.from_env().base_url == "http://127.0.0.1:8001"
    with pytest.raises(ValueError):
        client.as_user("", channel="slack")
    with pytest.raises(ValueError):
        client.as_user(ALEX, channel="carrier-pigeon")  # type: ignore[arg-type]


def test_timestamps_are_aware_on_every_python():
    assert parse_datetime("2026-11-27T10:07:44.929485Z").tzinfo is not None
    assert parse_datetime("2026-11-27T10:07:44.9Z") == datetime.fromisoformat("2026-11-27T10:07:44.900000+00:00")
    assert parse_datetime("2026-11-27T10:07:44").utcoffset().total_seconds() == 0


# -- down, silent, failing -----------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: connections are refused


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel completes the handshake) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


async def test_billing_down_is_unavailable_quickly(closed_port):
    started = time.monotonic()
    async with BillingClient(f"http://127.0.0.1:{closed_port}", SERVICE_TOKEN, timeout=1.0) as client:
        with pytest.raises(Unavailable) as caught:
            await client.as_user(ALEX, channel="test").invoices()
    assert time.monotonic() - started < 1.0 + 1
    assert caught.value.code == "unreachable" and caught.value.status is None
    assert caught.value.message == "Billing can't be reached right now; nothing was changed."


@pytest.mark.parametrize("call", ["me", "open_case", "place_order"])
async def test_billing_silent_is_unavailable_within_the_timeout(silent_server, call):
    started = time.monotonic()
    async with BillingClient(silent_server, SERVICE_TOKEN, timeout=1.0) as client:
        alex = client.as_user(ALEX, channel="test")
        with pytest.raises(Unavailable) as caught:
            await {
                "me": lambda: alex.me(),
                "open_case": lambda: alex.open_case("Help", "Please"),
                "place_order": lambda: alex.place_order("Q-1", idempotency_key="k-1"),
            }[call]()
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.0 + 1
    assert caught.value.code == "timeout"
    if call == "open_case":  # a write that may have landed must not claim nothing changed
        assert "can't tell whether" in caught.value.message
    # only a write sent with its idempotency key may be sent again as it was
    assert caught.value.details.get("safe_to_retry", False) is (call == "place_order")


async def test_default_timeouts_keep_the_bot_inside_5_seconds(silent_server):
    started = time.monotonic()
    async with BillingClient(silent_server, SERVICE_TOKEN) as client:
        with pytest.raises(Unavailable):
            await client.catalog()
    assert time.monotonic() - started < 5 + 0.5


class Flaky:
    """A transport that answers 503 ``failures`` times, then hands the request to the real API."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[httpx.Request] = []
        self.real = httpx.AsyncHTTPTransport()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.failures:
            return httpx.Response(
                503, json={"error": {"code": "unavailable", "message": "Down for a moment.", "details": {}}}
            )
        return await self.real.handle_async_request(request)

    def client(self, url: str, **options) -> BillingClient:
        return BillingClient(url, SERVICE_TOKEN, transport=httpx.MockTransport(self), **options)


@pytest.fixture
async def flaky():
    made: list[Flaky] = []

    def make(failures: int) -> Flaky:
        made.append(Flaky(failures))
        return made[-1]

    yield make
    for transport in made:
        await transport.real.aclose()


async def test_a_get_is_retried_on_503(billing_server, db, flaky):
    flaky = flaky(failures=2)
    async with flaky.client(billing_server.url) as client:
        me = await client.as_user(ALEX, channel="test").me()
    assert me.email == ALEX and len(flaky.requests) == 3


async def test_an_order_with_its_key_is_retried_on_503_and_applied_once(billing, billing_server, db, flaky):
    quote = await billing.as_user(ALEX, channel="test").quote_add_licenses(3, product="enterprise")
    flaky = flaky(failures=2)
    async with flaky.client(billing_server.url) as client:
        order = await client.as_user(ALEX, channel="test").place_order(quote)
    assert order.created and order.resulting_quantity == 43 and len(flaky.requests) == 3
    assert {r.headers["Idempotency-Key"] for r in flaky.requests} == {quote.idempotency_key}
    assert count(db, Order) == 1


async def test_a_post_without_key_is_never_retried(billing_server, db, flaky):
    flaky = flaky(failures=2)
    async with flaky.client(billing_server.url) as client:
        with pytest.raises(Unavailable) as caught:
            await client.as_user(ALEX, channel="test").open_case("Help", "Please")
    assert len(flaky.requests) == 1 and caught.value.status == 503
    assert caught.value.message == "Down for a moment."  # the server's own wording
    assert count(db, SupportCase) == 0

    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with BillingClient(billing_server.url, SERVICE_TOKEN, transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(Unavailable):
            await client.as_user(ALEX, channel="test").payment_method_link()
        assert len(calls) == 1
        with pytest.raises(Unavailable):
            await client.as_user(ALEX, channel="test").pay_invoice("INV-1041", "pay-key")
        assert len(calls) == 1 + 3


async def test_retries_stay_inside_the_timeout_budget():
    calls = []

    def always_503(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    started = time.monotonic()
    async with BillingClient(
        "http://billing", SERVICE_TOKEN, timeout=0.3, retries=5, transport=httpx.MockTransport(always_503)
    ) as client:
        with pytest.raises(Unavailable) as caught:
            await client.catalog()
    assert time.monotonic() - started < 1.0  # generous: the machines are shared
    assert caught.value.status == 503 and len(calls) == 1  # no time left for a retry after 0.1 s + 0.25 s


async def test_a_malformed_answer_is_unavailable_not_a_crash():
    def floats(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json=[
                {
                    "code": "x",
                    "name": "X",
                    "kind": "addon",
                    "unit": "user",
                    "description": "",
                    "max_quantity": None,
                    "available_on_essentials": True,
                    "price": {"amount": 12.5, "currency": "USD", "formatted": "$12.50"},
                }
            ],
        )

    async with BillingClient("http://billing", SERVICE_TOKEN, transport=httpx.MockTransport(floats)) as client:
        with pytest.raises(Unavailable) as caught:
            await client.catalog()
    assert caught.value.code == "bad_response"
