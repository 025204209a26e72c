"""The shared billing client in the Rasa environment (Python 3.10, pydantic 1, httpx 0.28),
against the real billing backend started as a subprocess with the app environment's Python.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env tests/rasa_env
(--confcutdir keeps pytest from loading tests/conftest.py, which needs the app environment.)
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"

if sys.version_info[:2] != (3, 10):
    pytest.skip("runs under the Rasa environment (.venv/rasa, Python 3.10): make test-rasa",
                allow_module_level=True)


def test_this_is_the_rasa_environment():
    import pydantic

    assert pydantic.VERSION.startswith("1."), pydantic.VERSION
    assert httpx.__version__.startswith("0.28")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def billing_url(tmp_path):
    """`python -m bot.billing` from the app environment, on a fresh SQLite file and a free port."""
    if not APP_PYTHON.exists():
        pytest.fail(f"{APP_PYTHON} is missing: the billing backend runs in the app environment. "
                    "Build it first (make envs, or make test, which builds both).", pytrace=False)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}",
        "BILLING_HOST": "127.0.0.1",
        "BILLING_PORT": str(port),
        "BILLING_PUBLIC_URL": url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": "",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    env.pop("VIRTUAL_ENV", None)
    log_path = tmp_path / "billing.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(APP_PYTHON), "-m", "bot.billing"], cwd=str(ROOT), env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the billing backend exited with {process.returncode}:\n{log_path.read_text()}",
                            pytrace=False)
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the billing backend did not answer /healthz in 60 s:\n{log_path.read_text()}",
                            pytrace=False)
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


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
