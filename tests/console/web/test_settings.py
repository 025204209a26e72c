"""What production refuses at the console's start, the Secure cookie over https, and what make run
gives the console (its own billing token only, the one-time link)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.console.__main__ import unsafe_settings
from bot.console.config import ConsoleSettings
from bot.launch.runner import Stack, env_for
from bot.settings_check import UnsafeSettings
from tests.conftest import free_port

from .conftest import PEOPLE
from .parts import run_console, settings_for

GOOD = {
    "console_session_key": "7f3a9c2e51b84d06a1e9f0c3b2d4e5f60718293a4b5c6d7e",
    "console_oidc_client_id": "1234567890.1234567890",
    "console_oidc_client_secret": "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
    "console_slack_team": "T0VENDOR",
    "billing_console_token": "0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
    "rasa_tracker_url": "postgresql://aa:pw@db:5432/aa_rasa",
    "console_public_url": "https://console.vendor.example",
}


def test_production_refuses_development_values_naming_each(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(UnsafeSettings) as refused:
        unsafe_settings(ConsoleSettings(privacy_admin_token="dev-privacy-admin-token"), dev_token="abc")
    message = str(refused.value)
    for name in (
        "CONSOLE_SESSION_KEY",
        "CONSOLE_OIDC_CLIENT_SECRET",
        "BILLING_CONSOLE_TOKEN",
        "PRIVACY_ADMIN_TOKEN",
        "CONSOLE_DEV_SIGNIN_TOKEN",
        "CONSOLE_SLACK_TEAM",
        "RASA_TRACKER_URL",
    ):
        assert name in message, name
    with pytest.raises(UnsafeSettings, match="CONSOLE_PUBLIC_URL must be https"):
        unsafe_settings(ConsoleSettings(**{**GOOD, "console_public_url": "http://console.vendor.example"}))
    unsafe_settings(ConsoleSettings(**GOOD))  # real values: it starts
    unsafe_settings(ConsoleSettings(**{**GOOD, "console_public_url": "http://127.0.0.1:8090"}))  # run-prod


def test_development_starts_on_the_laptop_defaults(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    unsafe_settings(ConsoleSettings(), dev_token="abc")


def test_over_https_the_session_cookie_is_secure(tmp_path, oidc, tracker):
    oidc.reset(PEOPLE["admin"])
    port = free_port()
    settings = settings_for(tmp_path, oidc, port, console_public_url="https://console.vendor.example")
    for running in run_console(settings):
        start = running.browser().start()
        flow = next(h for h in start.headers.get_list("set-cookie") if h.startswith("console_signin="))
        assert "secure" in flow.lower() and "httponly" in flow.lower()
        assert running.console.cookie.cookie_args(datetime.now(timezone.utc))["secure"] is True


def test_make_run_gives_the_console_its_own_billing_token_and_a_fresh_link(tmp_path):
    stack = Stack(data_dir=tmp_path, console=True)
    env = stack.env()
    console = stack.console_service(env)
    assert console.env["BILLING_CONSOLE_TOKEN"] == "dev-billing-console-token"
    assert "BILLING_ACTIONS_TOKEN" not in console.env and "BILLING_GATEWAY_TOKEN" not in console.env
    assert env_for(env, "billing")["BILLING_CONSOLE_TOKEN"] == "dev-billing-console-token"
    assert "BILLING_CONSOLE_TOKEN" not in env_for(env, "gateway")
    assert console.env["CONSOLE_DEV_SIGNIN_TOKEN"] in stack.console_dev_link
    assert console.env["CONSOLE_PORT"] == str(stack.console_port) and console.env["CONSOLE_HOST"] == "127.0.0.1"
    assert Stack(data_dir=tmp_path).console_dev_token != stack.console_dev_token
