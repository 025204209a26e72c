"""The shared billing client in the Rasa environment (Python 3.10, pydantic 1, httpx 0.28),
against the real billing backend started as a subprocess with the app environment's Python.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env tests/rasa_env
(--confcutdir keeps pytest from loading tests/conftest.py, which needs the app environment.)
"""

from __future__ import annotations

import asyncio

import httpx
import pytest


def test_this_is_the_rasa_environment():
    import pydantic

    assert pydantic.VERSION.startswith("1."), pydantic.VERSION
    assert httpx.__version__.startswith("0.28")


def test_the_client_works_against_the_real_backend(billing_url):
    from bot.billing_client import BillingClient, Forbidden, Money, Order, Quote

    async def scenario() -> None:
        async with BillingClient(billing_url, "dev-service-token") as billing:
            catalog = await billing.catalog("USD")
            enterprise = next(p for p in catalog if p.code == "enterprise")
            assert isinstance(enterprise.price, Money) and type(enterprise.price.amount) is int
            assert enterprise.price.amount == 16_500

            alex = billing.as_user("alex@acme.example", channel="test")
            me = await alex.me()
            assert (me.org, me.edition, me.manage_billing) == ("Acme Corp", "Enterprise", True)
            assert me.contract is not None and type(me.contract.monthly_total.amount) is int

            quote = await alex.quote_add_licenses(2, product="enterprise")
            assert isinstance(quote, Quote) and quote.quantity == 2
            assert type(quote.prorated_amount.amount) is int and type(quote.new_monthly_total.amount) is int
            assert quote.expires_at.tzinfo is not None

            order = await alex.place_order(quote)
            again = await alex.place_order(quote)
            assert isinstance(order, Order) and order.number.startswith("ORD-")
            assert order.created and again.number == order.number and not again.created
            assert order.resulting_quantity == 42
            assert order.invoice is not None and type(order.invoice.total.amount) is int

            with pytest.raises(Forbidden) as caught:
                await billing.as_user("sam@acme.example", channel="test").balance()
            assert caught.value.admins == [("Alex Rivera", "alex@acme.example")]

    asyncio.run(scenario())
