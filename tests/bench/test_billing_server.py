"""The billing benchmark's server starts the way `make bench` runs it: without APP_ENV in the
environment. It measures the billing API with development settings, and the production settings
check (bot/settings_check.py) refused them, so `python -m tests.bench billing` failed at once."""

from __future__ import annotations

import httpx

from tests.bench.server import BillingServer


def test_the_bench_billing_server_starts_without_app_env(tmp_path, monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    with BillingServer(f"sqlite:///{tmp_path / 'billing.db'}", tmp_path) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
