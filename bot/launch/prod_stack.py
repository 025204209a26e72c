"""``ProdStack``: the production topology on one machine, as ``make run-prod`` (production.py) and
the tests start it.

Two Rasa servers, two action servers and two gateways (``replicas``) behind HAProxy on loopback
(Debian's ``haproxy`` package; configuration from deploy/haproxy.cfg.template, bot/launch/haproxy.py),
billing on PostgreSQL, Rasa's conversations in PostgreSQL with a Redis lock store
(bot/endpoints.prod.yml), the gateways' state in PostgreSQL and their WebSocket fan-out through
Redis pub/sub. Nothing a replica needs lives in another replica's memory.

    public  :8080  balancer -> gateway-1 :8081, gateway-2 :8082      (the widget, Slack, the demo page)
    internal:5005  balancer -> rasa-1 :5105, rasa-2 :5106            (the gateways' webhook)
    internal:5055  balancer -> actions-1 :5155, actions-2 :5156      (Rasa's action endpoint)
    internal:8001  billing
    staff   :8090  console (make run-prod starts it when Sign in with Slack is configured; no balancer)

(the ports ``make run-prod`` gives it; tests use free ports, throw-away databases and their own
Redis prefix).

HAProxy drops whatever a client says about its address and sets ``X-Forwarded-For`` on every
request to the gateways. It connects to them from its own loopback address (127.0.0.2), the only
one they take a forwarded address from (``FORWARDED_ALLOW_IPS``), so a local process that talks to
a gateway directly cannot claim to be someone else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.billing.adapters.db import normalise_url
from bot.launch import haproxy
from bot.launch.prod_env import new_secrets, rasa_db_env, redis_env
from bot.launch.redis_account import RedisAccount
from bot.launch.runner import APP_PY, MODEL, RASA_PY, ROOT, Service, Stack, env_for, free_port

__all__ = ["PROD_ENDPOINTS", "ProdStack"]

PROD_ENDPOINTS = ROOT / "bot" / "endpoints.prod.yml"


@dataclass
class ProdStack:
    data_dir: Path
    billing_db: str  # PostgreSQL URLs
    tracker_db: str
    gateway_db: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "aa-prod"  # Redis keys and channels: the lock store's and the gateways' fan-out
    replicas: int = 2
    model: Path = MODEL
    gateway_port: int = field(default_factory=free_port)  # the balancer's public port
    rasa_port: int = field(default_factory=free_port)  # the balancer's Rasa pool
    actions_port: int = field(default_factory=free_port)  # the balancer's action server pool
    billing_port: int = field(default_factory=free_port)
    console_port: int = field(default_factory=free_port)  # the staff console, on loopback
    replica_ports: dict[str, list[int]] = field(default_factory=dict)  # rasa/actions/gateway -> ports
    # billing, actions-1, gateway-1... -> the port of its /metrics on loopback (docs/operations.md)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    # Its secrets (SECRET_NAMES), the fan-out's key among them: the replicas' own, not the development ones.
    secrets: dict[str, str] = field(default_factory=new_secrets, repr=False)

    def __post_init__(self) -> None:
        # Redis with a password even on a Redis without one: a user of the stack's own (bot/launch/redis_account.py)
        # for its keys and channels, Rasa's lock store's included (its prefix is the letters and digits).
        self.lock_prefix = "".join(c for c in self.prefix if c.isalnum())  # Rasa: letters, digits
        self.redis = RedisAccount.for_url(self.redis_url, tuple(dict.fromkeys((self.prefix, self.lock_prefix))))
        for kind in ("rasa", "actions", "gateway"):
            self.replica_ports.setdefault(kind, [free_port() for _ in range(self.replicas)])
        # Stack gives the environment every process of `make run` reads; the URLs in it point at
        # the balancer's pools, so every replica reaches the others through the balancer.
        self.base = Stack(
            data_dir=self.data_dir,
            model=self.model,
            endpoints=PROD_ENDPOINTS,
            billing_port=self.billing_port,
            actions_port=self.actions_port,
            rasa_port=self.rasa_port,
            gateway_port=self.gateway_port,
            console_port=self.console_port,
            database_url=self.billing_db,
            gateway_token=self.secrets["GATEWAY_TOKEN"],
            rasa_api_token=self.secrets["RASA_API_TOKEN"],
        )

    # -- addresses -------------------------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return self.base.gateway_url

    @property
    def rasa_url(self) -> str:
        return self.base.rasa_url

    @property
    def webhook_url(self) -> str:
        return self.base.webhook_url

    @property
    def billing_url(self) -> str:
        return self.base.billing_url

    @property
    def gateway_token(self) -> str:
        return self.base.gateway_token

    def replica_url(self, kind: str, i: int) -> str:
        return f"http://127.0.0.1:{self.replica_ports[kind][i]}"

    # -- configuration ---------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = self.base.env()
        redis = {"USERNAME": self.redis.username, "PASSWORD": self.redis.password}
        env.update(
            {
                **rasa_db_env(self.tracker_db),
                **redis_env(self.redis.address),
                **{f"REDIS_{k}": v for k, v in redis.items()},
                "RASA_LOCK_PREFIX": self.lock_prefix,
                "GATEWAY_DATABASE_URL": self.gateway_db,
                # the staff console's tables (console_*) beside the gateway's: its index is erased with them
                "CONSOLE_DATABASE_URL": self.gateway_db,
                "GATEWAY_REDIS_URL": self.redis.address,
                "GATEWAY_REDIS_PREFIX": self.prefix,
                **{f"GATEWAY_REDIS_{k}": v for k, v in redis.items()},
                "GATEWAY_URL": self.gateway_url,  # the action servers tell the gateways of handoffs here
                # Rasa's tracker store, where the privacy admin API and the retention job delete
                # (docs/privacy.md); production's gateways refuse the admin token without it
                "RASA_TRACKER_URL": self.tracker_db,
                # Production: its checks apply (bot/settings_check.py), no demo sign-in page, no seeding on
                # start (start() loads the demo data once, explicitly).
                "APP_ENV": "production",
                "SEED_ON_START": "false",
                **self.secrets,
            }
        )
        env.pop("RASA_TRACKER_DB", None)  # make run's SQLite file: not this stack's tracker store
        env.update(self.extra_env)
        return env

    def retention(self, every_s: float = 3600) -> Service:
        """The retention job (docs/privacy.md) as a loop of its own, with the gateways' settings: a
        CronJob in Kubernetes, a service of its own in compose. ``make run-prod`` starts it
        (production.py); ``start()`` does not, so the tests' stacks keep what they write."""
        return Service(
            "retention",
            [str(APP_PY), "-m", "bot.privacy", "retention", "--every", str(every_s)],
            env_for(self.env(), "gateway"),
            "",
            self.data_dir / "logs" / "retention.log",
        )

    def console(self) -> Service | None:
        """The staff console (docs/console.md), one process on loopback, not behind the balancer:
        production's checks apply, so it needs Sign in with Slack (CONSOLE_OIDC_CLIENT_ID,
        CONSOLE_OIDC_CLIENT_SECRET, CONSOLE_SLACK_TEAM from the environment); without them, None.
        It reads the tracker and gateway databases, billing with its own token, and erases through
        a gateway replica's own port (never the balancer's, which refuses /admin)."""
        env = self.env()
        if not all(
            env.get(name) for name in ("CONSOLE_OIDC_CLIENT_ID", "CONSOLE_OIDC_CLIENT_SECRET", "CONSOLE_SLACK_TEAM")
        ):
            return None
        env = {
            **self._metered("console", env_for(env, "console")),
            "GATEWAY_URL": self.replica_url("gateway", 0),
        }
        return Service(
            "console",
            [str(APP_PY), "-m", "bot.console"],
            env,
            f"{self.base.console_url}/healthz",
            self.data_dir / "logs" / "console.log",
        )

    def balancer_config(self) -> str:
        """HAProxy's configuration: the three pools on loopback (bot/launch/haproxy.py)."""
        return haproxy.loopback(
            {"gateway": self.gateway_port, "rasa": self.rasa_port, "actions": self.actions_port}, self.replica_ports
        )

    def _metered(self, name: str, env: dict[str, str]) -> dict[str, str]:
        port = self.metrics_ports.setdefault(name, free_port())
        return {**env, "METRICS_HOST": "127.0.0.1", "METRICS_PORT": str(port)}

    def _services(self) -> dict[str, list[Service]]:
        env, logs = self.env(), self.data_dir / "logs"
        # Rasa's HTTP API where make run serves it (token-protected: bot.rasa_server adds RASA_API_TOKEN).
        api = ["--enable-api"] if env.get("RASA_API_TOKEN") else []
        config = self.data_dir / "haproxy.cfg"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(self.balancer_config())
        groups: dict[str, list[Service]] = {
            "billing": [
                Service(
                    "billing",
                    [str(APP_PY), "-m", "bot.billing"],
                    self._metered("billing", env_for(env, "billing")),
                    f"{self.billing_url}/healthz",
                    logs / "billing.log",
                )
            ],
            "balancer": [
                Service("balancer", haproxy.command(config), env, f"{self.gateway_url}/healthz", logs / "balancer.log")
            ],
            "actions": [],
            "rasa": [],
            "gateway": [],
        }
        for i in range(self.replicas):
            n = i + 1
            port = self.replica_ports["actions"][i]
            groups["actions"].append(
                Service(
                    f"actions-{n}",
                    [str(RASA_PY), "-m", "bot.actions", "--host", "127.0.0.1", "--port", str(port)],
                    self._metered(f"actions-{n}", env_for(env, "actions")),
                    f"{self.replica_url('actions', i)}/health",
                    logs / f"actions-{n}.log",
                )
            )
            port = self.replica_ports["rasa"][i]
            groups["rasa"].append(
                Service(
                    f"rasa-{n}",
                    [
                        str(RASA_PY),
                        "-m",
                        "bot.rasa_server",
                        "run",
                        "--model",
                        str(self.model),
                        "--endpoints",
                        str(PROD_ENDPOINTS),
                        "--credentials",
                        "bot/credentials.yml",
                        *api,
                        "--interface",
                        "127.0.0.1",
                        "--port",
                        str(port),
                    ],
                    env_for(env, "rasa"),
                    f"{self.replica_url('rasa', i)}/",
                    logs / f"rasa-{n}.log",
                )
            )
            port = self.replica_ports["gateway"][i]
            # A gateway takes the client's address from X-Forwarded-For only when HAProxy is the peer.
            gateway_env = {
                **self._metered(f"gateway-{n}", env_for(env, "gateway")),
                "GATEWAY_PORT": str(port),
                "FORWARDED_ALLOW_IPS": haproxy.BALANCER_SOURCE,
            }
            groups["gateway"].append(
                Service(
                    f"gateway-{n}",
                    [str(APP_PY), "-m", "bot.gateway"],
                    gateway_env,
                    f"{self.replica_url('gateway', i)}/healthz",
                    logs / f"gateway-{n}.log",
                )
            )
        return groups

    # -- running ---------------------------------------------------------------------------------------

    def start(self, timeout: float = 420) -> ProdStack:
        if not self.model.exists():
            raise FileNotFoundError(f"no trained model at {self.model}: run `make train`")
        groups = self._services()
        self.services = [s for g in ("billing", "balancer", "actions", "rasa", "gateway") for s in groups[g]]
        deadline = time.monotonic() + timeout
        try:
            self.redis.open()
            self._load_demo_data()
            # The first Rasa server and the first gateway create their tables; the others start once
            # those exist (two processes creating the same tables at once would collide).
            for service in (
                *groups["billing"],
                *groups["balancer"],
                *groups["actions"],
                groups["rasa"][0],
                groups["gateway"][0],
            ):
                service.start()
            groups["gateway"][0].wait_ready(max(1.0, deadline - time.monotonic()))
            for service in groups["gateway"][1:]:
                service.start()
            self._wait_for_tracker_table(groups["rasa"][0], deadline)
            for service in groups["rasa"][1:]:
                service.start()
            for service in self.services:
                service.wait_ready(max(1.0, deadline - time.monotonic()))
            self._wait_balanced(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _load_demo_data(self) -> None:
        """The demo catalog and customers, into an empty billing database (python -m bot.billing.seed)."""
        import subprocess

        done = subprocess.run(
            [str(APP_PY), "-m", "bot.billing.seed"],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"loading the demo data failed:\n{done.stdout}{done.stderr}")

    def _wait_for_tracker_table(self, first: Service, deadline: float) -> None:
        engine = create_engine(normalise_url(self.tracker_db), connect_args={"connect_timeout": 5})
        try:
            while True:
                if (problem := first.failed()) is not None:
                    raise RuntimeError(problem)
                with engine.connect() as conn:
                    if conn.execute(text("SELECT to_regclass('public.events')")).scalar() is not None:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{first.name} did not create its tables in time (log: {first.log_path})")
                time.sleep(0.5)
        finally:
            engine.dispose()

    def _wait_balanced(self, deadline: float) -> None:
        """Until the balancer has checked every replica (it starts before them)."""
        import httpx

        for url in (f"{self.gateway_url}/healthz", f"{self.rasa_url}/", f"http://127.0.0.1:{self.actions_port}/health"):
            while True:
                try:
                    if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the balancer does not answer at {url}")
                time.sleep(0.3)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.redis.close()

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def __enter__(self) -> ProdStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
