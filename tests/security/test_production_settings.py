"""Production refuses unsafe settings at start (issue 17, item 9). The review found that nothing
refused the built-in development tokens and keys or deploy/'s example secrets (with them anyone can
mint widget tokens, re-sign visitor ids and invoice links, read trackers), that billing seeded the
demo customers on start, and that its /docs and /openapi.json were open. Each service is started
here as a deployment would start it, without APP_ENV=development."""

from __future__ import annotations

import os
import re
import subprocess

import httpx
import pytest
import yaml

from bot.billing.adapters.db import Database
from bot.billing.api.app import create_app
from bot.launch.runner import APP_PY, RASA_PY, ROOT, Service, free_port
from bot.settings_check import DEVELOPMENT_SECRETS, in_production, secret_problem

STRONG = "4f1c9e0b7a2d48e6b3c5a9f0d1e2c3b4a5f6e7d8c9b0a1f2"  # 48 bytes, random-looking
EXAMPLES = sorted(
    {
        line.split("=", 1)[1]
        for line in (ROOT / "deploy/.env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#") and re.search(r"(TOKEN|KEY|SECRET|PASSWORD)=", line)
    }
    | {
        str(v)
        for k, v in yaml.safe_load((ROOT / "deploy/kubernetes/secret.example.yaml").read_text())["stringData"].items()
        if re.search(r"TOKEN|KEY|SECRET|PASSWORD", k)
    }
)


def production_env(**settings: str) -> dict[str, str]:
    """The environment of a deployment that set nothing but ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") or k.startswith("PYENV")
    }
    env.update({"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"})
    env.update(settings)
    return env


def start(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as running:
        raise AssertionError(f"{argv} started instead of refusing: {running.stdout!r} {running.stderr!r}") from None


def test_every_development_and_example_secret_is_refused():
    assert EXAMPLES, "the example files hold no secrets?"
    for value in [
        *DEVELOPMENT_SECRETS,
        *EXAMPLES,
        "",
        "short",
        "x" * 40,
        "dev-" + "a" * 40,
        "please-change-me-0123456789abcdef0123456789",
    ]:
        assert secret_problem(value), value
    assert secret_problem(STRONG) is None
    assert in_production({}) and in_production({"APP_ENV": "prod"}) and not in_production({"APP_ENV": "development"})


CALLERS_OK = {"BILLING_ACTIONS_TOKEN": STRONG[1:] + "a", "BILLING_GATEWAY_TOKEN": STRONG[2:] + "bc"}


def test_billing_refuses_its_defaults_examples_short_keys_and_the_demo_seed(tmp_path):
    db = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    port = str(free_port())
    cases = {
        "defaults": ({}, ["BILLING_SIGNING_KEY", "BILLING_ACTIONS_TOKEN", "BILLING_GATEWAY_TOKEN"]),
        "examples": (
            {
                "BILLING_SIGNING_KEY": "change-me",
                "BILLING_ACTIONS_TOKEN": "change-me",
                "BILLING_GATEWAY_TOKEN": "change-me",
            },
            ["BILLING_SIGNING_KEY", "BILLING_ACTIONS_TOKEN", "BILLING_GATEWAY_TOKEN"],
        ),
        "short": ({"BILLING_SIGNING_KEY": "tooshort", **CALLERS_OK}, ["BILLING_SIGNING_KEY"]),
        "seed": ({"BILLING_SIGNING_KEY": STRONG, **CALLERS_OK, "SEED_ON_START": "true"}, ["SEED_ON_START"]),
        "shared-token": (
            {
                "BILLING_SIGNING_KEY": STRONG,
                "BILLING_ACTIONS_TOKEN": STRONG[1:] + "a",
                "BILLING_GATEWAY_TOKEN": STRONG[1:] + "a",
            },
            ["BILLING_GATEWAY_TOKEN"],
        ),
        "old-setting": (
            {"BILLING_SIGNING_KEY": STRONG, **CALLERS_OK, "BILLING_SERVICE_TOKENS": STRONG},
            ["BILLING_SERVICE_TOKENS"],
        ),
    }
    for name, (settings, named) in cases.items():
        done = start([str(APP_PY), "-m", "bot.billing"], production_env(DATABASE_URL=db, BILLING_PORT=port, **settings))
        assert done.returncode != 0, name
        for setting in named:
            assert setting in done.stderr, (name, setting, done.stderr)
    assert not (tmp_path / "b.sqlite3").exists()  # refused before touching the database


def test_billing_in_production_serves_no_api_docs_and_no_demo_customers(tmp_path):
    db = Database.connect(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    from bot.billing.migrate import upgrade

    upgrade(db.url)
    app = create_app(db, docs=False)
    transport = httpx.ASGITransport(app=app)

    async def fetch(path: str) -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as client:
            return (await client.get(path)).status_code

    import asyncio

    for path in ("/docs", "/redoc", "/openapi.json"):
        assert asyncio.run(fetch(path)) == 404, path
    assert asyncio.run(fetch("/healthz")) == 200
    db.dispose()


def test_billing_starts_with_real_secrets_and_then_hides_its_docs(tmp_path):
    port = free_port()
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}",
        BILLING_PORT=str(port),
        BILLING_SIGNING_KEY=STRONG,
        BILLING_ACTIONS_TOKEN=STRONG[::-1],
        BILLING_GATEWAY_TOKEN=STRONG[1:] + "a",
    )
    billing = Service(
        "billing", [str(APP_PY), "-m", "bot.billing"], env, f"http://127.0.0.1:{port}/healthz", tmp_path / "billing.log"
    )
    billing.start()
    try:
        billing.wait_ready(60)
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=3).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=3).status_code == 404
        me = httpx.get(
            f"http://127.0.0.1:{port}/v1/me",
            timeout=3,
            headers={
                "Authorization": f"Bearer {STRONG[::-1]}",
                "X-Acting-User": "alex@acme.example",
                "X-Channel": "api",
            },
        )
        assert me.status_code == 403 and "unknown_user" in me.text  # no demo customers were seeded
    finally:
        billing.stop()


GATEWAY_OK = {
    "GATEWAY_TOKEN": STRONG,
    "RASA_API_TOKEN": STRONG[1:] + "a",
    "BILLING_GATEWAY_TOKEN": STRONG[2:] + "bc",
    "WIDGET_SIGNING_KEY": STRONG[3:] + "def",
    "WIDGET_JWT_SECRET": STRONG[4:] + "abcd",
}


@pytest.mark.parametrize(
    "settings, named",
    [
        ({}, ["GATEWAY_TOKEN", "RASA_API_TOKEN", "WIDGET_SIGNING_KEY", "WIDGET_JWT_SECRET"]),
        ({**GATEWAY_OK, "WIDGET_JWT_SECRET": "change-me-at-least-32-bytes-long!!"}, ["WIDGET_JWT_SECRET"]),
        ({**GATEWAY_OK, "WIDGET_ALLOWED_ORIGINS": "https://www.vendor.example, *"}, ["WIDGET_ALLOWED_ORIGINS"]),
        (
            {**GATEWAY_OK, "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0"},
            ["GATEWAY_FANOUT_KEY", "GATEWAY_REDIS_PASSWORD"],
        ),
        ({**GATEWAY_OK, "FORWARDED_ALLOW_IPS": "*"}, ["FORWARDED_ALLOW_IPS"]),
    ],
    ids=["defaults", "example-jwt-secret", "any-origin", "redis-without-auth", "any-proxy"],
)
def test_the_gateway_refuses_unsafe_settings(tmp_path, settings, named):
    done = start(
        [str(APP_PY), "-m", "bot.gateway"],
        production_env(
            GATEWAY_PORT=str(free_port()), GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}", **settings
        ),
    )
    assert done.returncode != 0
    for setting in named:
        assert setting in done.stderr, (setting, done.stderr)


def test_the_action_server_and_rasa_refuse_development_secrets():
    done = start(
        [str(RASA_PY), "-m", "bot.actions", "--port", str(free_port())],
        production_env(ACTION_SERVER_TOKEN="dev-action-server-token"),
    )
    assert done.returncode != 0 and "ACTION_SERVER_TOKEN" in done.stderr and "BILLING_ACTIONS_TOKEN" in done.stderr
    done = start(
        [str(RASA_PY), "-m", "bot.rasa_server", "run", "--enable-api", "--port", str(free_port())],
        production_env(
            GATEWAY_TOKEN=STRONG,
            ACTION_SERVER_TOKEN="change-me",
            RASA_API_TOKEN=STRONG[::-1],
            REDIS_HOST="127.0.0.1",
            REDIS_PASSWORD="",
        ),
    )
    assert done.returncode != 0, done.stderr
    assert "ACTION_SERVER_TOKEN" in done.stderr and "REDIS_PASSWORD" in done.stderr, done.stderr
    assert "GATEWAY_TOKEN" not in done.stderr  # a real one passes


def test_the_demo_sign_in_page_exists_only_in_development(stack):
    """make run's gateway (development) has it; production never does, whatever WIDGET_DEMO_PAGE says."""
    assert httpx.get(f"{stack.gateway_url}/account", timeout=10).status_code == 200
    from bot.gateway.app import create_app as gateway_app
    from bot.gateway.config import GatewaySettings

    os.environ["APP_ENV"] = "production"
    try:
        app = gateway_app(GatewaySettings(widget_demo_page=True, gateway_database_url="sqlite://"))
    finally:
        os.environ["APP_ENV"] = "development"
    assert not any(getattr(route, "path", None) == "/account" for route in app.routes)
    assert any(getattr(route, "path", None) == "/" for route in app.routes)


def test_deploy_files_run_in_production_and_never_seed():
    """Production is what a service runs as when nothing says otherwise: the deployment files must
    not say otherwise, nor turn the demo seed on."""
    for path in [ROOT / "deploy/docker-compose.yml", *(ROOT / "deploy/kubernetes").glob("*.yaml")]:
        text = path.read_text()
        assert "SEED_ON_START" not in text and "APP_ENV" not in text, path
