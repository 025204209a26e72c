"""An extra gateway process in front of a running stack's Rasa and billing, with its own settings
(Slack on against a SlackMock, widget limits raised for a test's burst, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.launch.runner import APP_PY, Service, Stack, env_for, free_port
from tests.slack_mock import Call, SlackMock, SlackSender

SECRET = "e2e-signing-secret"


def start_gateway(stack: Stack, data: Path, api: SlackMock | None = None, **settings: str) -> Service:
    """Start ``python -m bot.gateway`` on a free port (its URL: ``service.health_url`` minus /healthz);
    Slack is on (HTTP events, signing secret ``SECRET``) when ``api`` is given."""
    port = free_port()
    env = {k: v for k, v in env_for(stack.env(), "gateway").items() if not k.startswith(("SLACK_", "WIDGET_"))}
    env.update(
        {
            "GATEWAY_PORT": str(port),
            "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "GATEWAY_DATABASE_URL": f"sqlite:///{data / 'gateway.sqlite3'}",
        }
    )
    if api is not None:
        env.update(
            {
                "SLACK_BOT_TOKEN": "xoxb-e2e",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": api.api_url,
                "SLACK_SLOW_TURN_S": "30",
            }
        )
    env.update(settings)
    gateway = Service(
        "extra-gateway",
        [str(APP_PY), "-m", "bot.gateway"],
        env,
        f"http://127.0.0.1:{port}/healthz",
        data / "gateway.log",
    )
    gateway.start()
    try:
        gateway.wait_ready(60)
    except BaseException:
        gateway.stop()
        raise
    return gateway


def url_of(gateway: Service) -> str:
    return gateway.health_url.removesuffix("/healthz")


@dataclass
class SlackGateway:
    """A gateway with Slack on, the Web API mock it posts to, and signed requests into it."""

    api: SlackMock
    send: SlackSender
    gateway: Service

    @property
    def url(self) -> str:
        return url_of(self.gateway)

    def dm_posts(self, user: str) -> list[Call]:
        return [c for c in self.api.called("chat.postMessage") if c.args.get("channel") == f"D{user}"]


@contextmanager
def slack_gateway(
    stack: Stack, data: Path, users: dict[str, tuple[str, str]], **settings: str
) -> Iterator[SlackGateway]:
    """``start_gateway`` with Slack on against a new mock that knows ``users`` (id -> email, name)."""
    api = SlackMock().start()
    for user, (email, name) in users.items():
        api.add_user(user, email, name)
    gateway = start_gateway(stack, data, api, **settings)
    try:
        yield SlackGateway(api, SlackSender(url_of(gateway), SECRET), gateway)
    finally:
        gateway.stop()
        api.stop()


@contextmanager
def instead_of_the_stack_gateway(stack: Stack, data: Path, api: SlackMock, **settings: str) -> Iterator[SlackSender]:
    """The stack's own gateway (the one the action server tells of handoffs) restarted with Slack on
    against ``api`` and ``settings``, and put back afterwards: signed requests into it."""
    env = {
        **{k: v for k, v in env_for(stack.env(), "gateway").items() if not k.startswith(("SLACK_", "HANDOFF_"))},
        "GATEWAY_DATABASE_URL": f"sqlite:///{data / 'gateway.sqlite3'}",
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api.api_url,
        **settings,
    }
    original = stack.service("gateway")
    original.stop()
    gateway = Service(
        "slack-gateway", [str(APP_PY), "-m", "bot.gateway"], env, original.health_url, data / "gateway.log"
    )
    gateway.start()
    try:
        gateway.wait_ready(60)
        yield SlackSender(stack.gateway_url, SECRET)
    finally:
        gateway.stop()
        stack.restart("gateway")
