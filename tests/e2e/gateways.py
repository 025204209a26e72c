"""An extra gateway process in front of a running stack's Rasa and billing, with its own settings
(Slack on against a SlackMock, widget limits raised for a test's burst, ...)."""
from __future__ import annotations

from pathlib import Path

from bot.gateway.slack.testing import SlackMock
from bot.runner import APP_PY, Service, Stack, env_for, free_port

SECRET = "e2e-signing-secret"


def start_gateway(stack: Stack, data: Path, api: SlackMock | None = None, **settings: str) -> Service:
    """Start ``python -m bot.gateway`` on a free port (its URL: ``service.health_url`` minus /healthz);
    Slack is on (HTTP events, signing secret ``SECRET``) when ``api`` is given."""
    port = free_port()
    env = {k: v for k, v in env_for(stack.env(), "gateway").items() if not k.startswith(("SLACK_", "WIDGET_"))}
    env.update({"GATEWAY_PORT": str(port), "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "GATEWAY_DATABASE_URL": f"sqlite:///{data / 'gateway.sqlite3'}"})
    if api is not None:
        env.update({"SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api.api_url,
                    "SLACK_SLOW_TURN_S": "30"})
    env.update(settings)
    gateway = Service("extra-gateway", [str(APP_PY), "-m", "bot.gateway"], env, f"http://127.0.0.1:{port}/healthz",
                      data / "gateway.log")
    gateway.start()
    try:
        gateway.wait_ready(60)
    except BaseException:
        gateway.stop()
        raise
    return gateway


def url_of(gateway: Service) -> str:
    return gateway.health_url.removesuffix("/healthz")
