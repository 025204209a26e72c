"""Start the processes of the assistant on one machine: billing backend, action server, Rasa and
the gateway.

    python -m bot.launch.runner            # make run: fixed ports, data/ folder, until Ctrl-C

Tests and benchmarks use ``Stack`` with free ports and a temporary folder. The Rasa processes run
in the Rasa environment (.venv/rasa), the billing backend and the gateway in the app environment
(.venv/app).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .service import ROOT, Service, free_port

APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
MODEL = ROOT / "models" / "account-assistant.tar.gz"
DEFAULT_GATEWAY_TOKEN = "dev-gateway-token"
DEFAULT_RASA_API_TOKEN = "dev-rasa-api-token"
DEFAULT_ACTION_SERVER_TOKEN = "dev-action-server-token"
DEFAULT_PRIVACY_ADMIN_TOKEN = "dev-privacy-admin-token"
# Each service's own token at billing (bot/billing/api/callers.py): development values for make run.
# The services with a Prometheus endpoint on a port of their own (bot/telemetry/metrics_http.py), and
# make run's ports for them.
METRICS_PORTS = {"gateway": 9101, "billing": 9102, "actions": 9103}
BILLING_TOKENS = {
    "actions": ("BILLING_ACTIONS_TOKEN", "dev-service-token"),
    "gateway": ("BILLING_GATEWAY_TOKEN", "dev-billing-gateway-token"),
    "console": ("BILLING_CONSOLE_TOKEN", "dev-billing-console-token"),
}


def env_for(env: dict[str, str], service: str) -> dict[str, str]:
    """``env`` as ``service`` (billing, actions, rasa, gateway, console) gets it: billing knows every
    caller's token, each caller only its own."""
    if service == "billing":
        return env
    return {
        k: v
        for k, v in env.items()
        if k not in {var for caller, (var, _) in BILLING_TOKENS.items() if caller != service}
    }


@dataclass
class Stack:
    """Billing backend + action server + Rasa server + gateway, with their data in ``data_dir``."""

    data_dir: Path
    model: Path = MODEL
    endpoints: Path = ROOT / "bot" / "endpoints.yml"
    billing_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    rasa_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    database_url: str | None = None
    gateway_token: str = DEFAULT_GATEWAY_TOKEN
    # Rasa's HTTP API (--enable-api), for the gateway's handoff bridge only: token-protected.
    rasa_api_token: str = DEFAULT_RASA_API_TOKEN
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    # The staff console (bot/console): its own process on its own port, never behind a balancer.
    # make run starts it; tests that need it say so (tests/e2e/test_console.py).
    console: bool = False
    console_port: int = field(default_factory=free_port)
    # make run's one-time admin sign-in link (docs/console.md): printed at start, used once.
    console_dev_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # gateway, billing, actions -> the port of its /metrics, on loopback
    metrics_ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in METRICS_PORTS})

    def metrics_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.metrics_ports[service]}/metrics"

    def env_of(self, env: dict[str, str], service: str) -> dict[str, str]:
        """``env_for`` and the service's metrics port."""
        own = env_for(env, service)
        if service in self.metrics_ports:
            own = {**own, "METRICS_HOST": "127.0.0.1", "METRICS_PORT": str(self.metrics_ports[service])}
        return own

    @property
    def billing_url(self) -> str:
        return f"http://127.0.0.1:{self.billing_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def console_dev_link(self) -> str:
        return f"{self.console_url}/console/signin/dev/{self.console_dev_token}"

    @property
    def webhook_url(self) -> str:
        return f"{self.rasa_url}/webhooks/gateway/webhook"

    @property
    def tracker_db(self) -> Path:
        return self.data_dir / "rasa-tracker.sqlite3"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": self.database_url or f"sqlite:///{self.data_dir / 'billing.sqlite3'}",
                "BILLING_HOST": "127.0.0.1",
                "BILLING_PORT": str(self.billing_port),
                "BILLING_PUBLIC_URL": os.environ.get("BILLING_PUBLIC_URL", self.billing_url),
                "BILLING_URL": self.billing_url,
                **{var: os.environ.get(var) or default for var, default in BILLING_TOKENS.values()},
                "OUTBOX_DIR": str(self.data_dir / "outbox"),
                "ACTION_ENDPOINT_URL": f"{self.actions_url}/webhook",
                "ACTION_SERVER_TOKEN": os.environ.get("ACTION_SERVER_TOKEN", DEFAULT_ACTION_SERVER_TOKEN),
                "RASA_TRACKER_DB": str(self.tracker_db),
                # the privacy admin API (docs/privacy.md): the staff console's token, a development one here
                "PRIVACY_ADMIN_TOKEN": os.environ.get("PRIVACY_ADMIN_TOKEN", DEFAULT_PRIVACY_ADMIN_TOKEN),
                "GATEWAY_TOKEN": self.gateway_token,
                "RASA_WEBHOOK_URL": self.webhook_url,
                "RASA_API_URL": self.rasa_url,
                "RASA_API_TOKEN": self.rasa_api_token,
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(self.gateway_port),
                "GATEWAY_PUBLIC_URL": os.environ.get("GATEWAY_PUBLIC_URL", self.gateway_url),
                "GATEWAY_DATABASE_URL": os.environ.get(
                    "GATEWAY_DATABASE_URL", f"sqlite:///{self.data_dir / 'gateway.sqlite3'}"
                ),
                # The staff console's index (bot/console), which the privacy API and the retention job
                # delete from too; what the console reads and where it is reached.
                "CONSOLE_DATABASE_URL": os.environ.get(
                    "CONSOLE_DATABASE_URL", f"sqlite:///{self.data_dir / 'console.sqlite3'}"
                ),
                "CONSOLE_HOST": "127.0.0.1",
                "CONSOLE_PORT": str(self.console_port),
                "CONSOLE_PUBLIC_URL": os.environ.get("CONSOLE_PUBLIC_URL", self.console_url),
                "GATEWAY_URL": self.gateway_url,
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "RASA_TELEMETRY_ENABLED": "false",
                # A laptop: the development secrets above, the demo seed, the demo sign-in page
                # (production refuses all three: bot/settings_check.py).
                "APP_ENV": "development",
                "SEED_ON_START": "true",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 240) -> Stack:
        if not self.model.exists():
            raise FileNotFoundError(f"no trained model at {self.model}: run `make train`")
        env, logs = self.env(), self.data_dir / "logs"
        self.services = [
            Service(
                "billing",
                [str(APP_PY), "-m", "bot.billing"],
                self.env_of(env, "billing"),
                f"{self.billing_url}/healthz",
                logs / "billing.log",
            ),
            # bot.actions: rasa_sdk's server on loopback, answering only Rasa (ACTION_SERVER_TOKEN).
            Service(
                "actions",
                [str(RASA_PY), "-m", "bot.actions", "--host", "127.0.0.1", "--port", str(self.actions_port)],
                self.env_of(env, "actions"),
                f"{self.actions_url}/health",
                logs / "actions.log",
            ),
            # bot.rasa_server: `rasa` with fixes to its per-turn hot path (see there); its HTTP API
            # (--enable-api) takes RASA_API_TOKEN from the environment, never from the command line.
            Service(
                "rasa",
                [
                    str(RASA_PY),
                    "-m",
                    "bot.rasa_server",
                    "run",
                    "--model",
                    str(self.model),
                    "--endpoints",
                    str(self.endpoints),
                    "--credentials",
                    "bot/credentials.yml",
                    "--enable-api",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(self.rasa_port),
                ],
                self.env_of(env, "rasa"),
                f"{self.rasa_url}/",
                logs / "rasa.log",
            ),
            Service(
                "gateway",
                [str(APP_PY), "-m", "bot.gateway"],
                self.env_of(env, "gateway"),
                f"{self.gateway_url}/healthz",
                logs / "gateway.log",
            ),
        ]
        if self.console:
            self.services.append(self.console_service(env))
        for service in self.services:
            service.start()
        deadline = time.monotonic() + timeout
        waiting = list(self.services)
        try:
            while waiting:
                for service in list(waiting):
                    if (problem := service.failed()) is not None:
                        raise RuntimeError(problem)
                    if service.healthy():
                        waiting.remove(service)
                if time.monotonic() > deadline:
                    raise TimeoutError("not ready in time: " + ", ".join(s.name for s in waiting))
                time.sleep(0.3)
        except BaseException:
            self.stop()
            raise
        return self

    def console_service(self, env: dict[str, str]) -> Service:
        """The staff console, with make run's one-time sign-in link (development only)."""
        return Service(
            "console",
            [str(APP_PY), "-m", "bot.console"],
            {**self.env_of(env, "console"), "CONSOLE_DEV_SIGNIN_TOKEN": self.console_dev_token},
            f"{self.console_url}/healthz",
            self.data_dir / "logs" / "console.log",
        )

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def restart(self, name: str, timeout: float = 120) -> None:
        """Start a stopped service again and wait until it answers."""
        service = self.service(name)
        service.stop()
        service.start()
        service.wait_ready(timeout)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    # No options: settings come from the environment (the docstring). Parsing still answers --help,
    # and refuses anything else, instead of starting the stack.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    stack = Stack(
        data_dir=ROOT / "data",
        billing_port=int(os.environ.get("BILLING_PORT", 8001)),
        actions_port=int(os.environ.get("ACTIONS_PORT", 5055)),
        rasa_port=int(os.environ.get("RASA_PORT", 5005)),
        gateway_port=int(os.environ.get("GATEWAY_PORT", 8080)),
        console=True,
        console_port=int(os.environ.get("CONSOLE_PORT", 8090)),
        metrics_ports=dict(METRICS_PORTS),
        database_url=os.environ.get("DATABASE_URL"),
        gateway_token=os.environ.get("GATEWAY_TOKEN", DEFAULT_GATEWAY_TOKEN),
        rasa_api_token=os.environ.get("RASA_API_TOKEN", DEFAULT_RASA_API_TOKEN),
    )

    # Stop the services on SIGTERM/SIGHUP too (a supervisor, `timeout`, a closed terminal), not only
    # on Ctrl-C: they run in their own sessions and would otherwise be left running.
    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    print(
        "starting the billing backend, the action server, Rasa, the gateway and the staff console "
        "(logs in data/logs/) ...",
        flush=True,
    )
    try:
        stack.start()
        print(
            f"""
  Billing API:    {stack.billing_url}/v1/catalog   (OpenAPI docs: {stack.billing_url}/docs)
  Rasa:           {stack.webhook_url}   (the gateway's channel; token GATEWAY_TOKEN)
  Action server:  {stack.actions_url}/health
  Gateway:        {stack.gateway_url}/healthz
  Metrics:        {", ".join(stack.metrics_url(name) for name in METRICS_PORTS)}
  Demo page:      {stack.gateway_url}/   (pricing, the chat widget)
                  {stack.gateway_url}/account   (the same, signed in as alex@acme.example)
  Staff console:  {stack.console_url}/console/   (127.0.0.1 only; docs/console.md)
                  {stack.console_dev_link}
                  (one-time admin sign-in, valid 15 minutes: this start's link, used once)
  Chat here:      make shell      Stop: Ctrl-C
""",
            flush=True,
        )
        # The retention job (docs/privacy.md): a CronJob in production; here a loop of its own, hourly.
        retention = Service(
            "retention",
            [str(APP_PY), "-m", "bot.privacy", "retention", "--every", "3600"],
            stack.env_of(stack.env(), "gateway"),
            "",
            stack.data_dir / "logs" / "retention.log",
        )
        retention.start()
        stack.services.append(retention)
        while all(s.failed() is None for s in stack.services):
            time.sleep(1)
        print(next(s.failed() for s in stack.services if s.failed()), file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
