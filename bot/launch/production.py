"""The production topology on one machine: ``make run-prod``.

    python -m bot.launch.production        # until Ctrl-C; logs in data/prod/logs/

Two Rasa servers, two action servers and two gateways (``REPLICAS``) behind HAProxy on loopback
(Debian's ``haproxy`` package; configuration from deploy/haproxy.cfg.template, bot/launch/haproxy.py),
billing on PostgreSQL, Rasa's conversations in PostgreSQL with a Redis lock store
(bot/endpoints.prod.yml), the gateways' state in PostgreSQL and their WebSocket fan-out through
Redis pub/sub. Nothing a replica needs lives in another replica's memory.

    public  :8080  balancer -> gateway-1 :8081, gateway-2 :8082      (the widget, Slack, the demo page)
    internal:5005  balancer -> rasa-1 :5105, rasa-2 :5106            (the gateways' webhook)
    internal:5055  balancer -> actions-1 :5155, actions-2 :5156      (Rasa's action endpoint)
    internal:8001  billing

Settings (environment): ``PROD_POSTGRES_URL`` (the server; default postgresql://postgres@127.0.0.1:5432/postgres;
databases aa_billing, aa_rasa, aa_gateway are created there if missing), ``REDIS_URL``
(redis://127.0.0.1:6379/0; without a password in it the stack logs in as a Redis user of its own,
bot/launch/redis_account.py), ``REPLICAS`` (2), the ports above (``GATEWAY_PORT``, ``RASA_PORT``,
``ACTIONS_PORT``, ``BILLING_PORT``), and everything ``make run`` reads.

HAProxy drops whatever a client says about its address and sets ``X-Forwarded-For`` on every
request to the gateways. It connects to them from its own loopback address (127.0.0.2), the only
one they take a forwarded address from (``FORWARDED_ALLOW_IPS``), so a local process that talks to
a gateway directly cannot claim to be someone else.

Tests use ``ProdStack`` with free ports, throw-away databases and their own Redis prefix.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex
from urllib.parse import unquote, urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.billing.adapters.db import normalise_url
from bot.launch import haproxy
from bot.launch.redis_account import RedisAccount
from bot.launch.runner import APP_PY, MODEL, RASA_PY, ROOT, Service, Stack, env_for, free_port

PROD_ENDPOINTS = ROOT / "bot" / "endpoints.prod.yml"
# The secrets of a production stack: never the development ones, which production refuses
# (bot/settings_check.py). make run-prod keeps its own in data/prod/secrets.json; tests get fresh ones.
SECRET_NAMES = (
    "GATEWAY_TOKEN",
    "RASA_API_TOKEN",
    "ACTION_SERVER_TOKEN",
    "BILLING_ACTIONS_TOKEN",
    "BILLING_GATEWAY_TOKEN",
    "BILLING_SIGNING_KEY",
    "WIDGET_SIGNING_KEY",
    "WIDGET_JWT_SECRET",
    "GATEWAY_FANOUT_KEY",
)


def new_secrets() -> dict[str, str]:
    return {name: token_hex(32) for name in SECRET_NAMES}


def kept_secrets(path: Path) -> dict[str, str]:
    """The secrets in ``path`` (readable by its owner only), made and written there the first time;
    names added since get new values."""
    kept = json.loads(path.read_text()) if path.exists() else {}
    made = {**new_secrets(), **{k: v for k, v in kept.items() if k in SECRET_NAMES}}
    if made != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(made, indent=2))
    return made


def rasa_db_env(url: str) -> dict[str, str]:
    """RASA_DB_* for endpoints.prod.yml from a PostgreSQL URL."""
    u = make_url(normalise_url(url))
    return {
        "RASA_DB_HOST": u.host or "127.0.0.1",
        "RASA_DB_PORT": str(u.port or 5432),
        "RASA_DB_NAME": u.database or "",
        "RASA_DB_USER": u.username or "postgres",
        "RASA_DB_PASSWORD": u.password or "",
    }


def redis_env(url: str) -> dict[str, str]:
    """REDIS_* for Rasa's lock store (endpoints.prod.yml) from a redis:// URL."""
    parts = urlsplit(url)
    return {
        "REDIS_HOST": parts.hostname or "127.0.0.1",
        "REDIS_PORT": str(parts.port or 6379),
        "REDIS_DB": (parts.path.strip("/") or "0"),
        "REDIS_USERNAME": unquote(parts.username or ""),
        "REDIS_PASSWORD": unquote(parts.password or ""),
    }


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
    replica_ports: dict[str, list[int]] = field(default_factory=dict)  # rasa/actions/gateway -> ports
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
                "GATEWAY_REDIS_URL": self.redis.address,
                "GATEWAY_REDIS_PREFIX": self.prefix,
                **{f"GATEWAY_REDIS_{k}": v for k, v in redis.items()},
                "GATEWAY_URL": self.gateway_url,  # the action servers tell the gateways of handoffs here
                # Production: its checks apply (bot/settings_check.py), no demo sign-in page, no seeding on
                # start (start() loads the demo data once, explicitly).
                "APP_ENV": "production",
                "SEED_ON_START": "false",
                **self.secrets,
            }
        )
        env.update(self.extra_env)
        return env

    def balancer_config(self) -> str:
        """HAProxy's configuration: the three pools on loopback (bot/launch/haproxy.py)."""
        return haproxy.loopback(
            {"gateway": self.gateway_port, "rasa": self.rasa_port, "actions": self.actions_port}, self.replica_ports
        )

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
                    env_for(env, "billing"),
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
                    env_for(env, "actions"),
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
                **env_for(env, "gateway"),
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


def ensure_database(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server, created if missing (friendly error if unreachable)."""
    url = make_url(normalise_url(server_url))
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SystemExit(
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is not reachable ({reason}). "
            "Start it, or set PROD_POSTGRES_URL."
        ) from None
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis at {url} is not reachable ({exc}). Start it, or set REDIS_URL.") from None


def watch(stack: ProdStack) -> None:
    """Until billing or the balancer exits, or every replica of a kind has: a replica that exits is
    reported and the others carry on (the balancer takes it out)."""
    reported: set[str] = set()
    while True:
        time.sleep(1)
        for service in stack.services:
            if service.name not in reported and (problem := service.failed()) is not None:
                reported.add(service.name)
                print(problem, file=sys.stderr, flush=True)
        kinds = {s.name.split("-")[0] for s in stack.services}
        for kind in kinds:
            group = [s.name for s in stack.services if s.name.split("-")[0] == kind]
            if all(name in reported for name in group):
                print(f"no {kind} process left running: stopping", file=sys.stderr)
                return


def main() -> None:
    server = os.environ.get("PROD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    check_redis(redis_url)
    try:
        haproxy.binary()
    except haproxy.HaproxyMissing as missing:
        raise SystemExit(str(missing)) from None
    replicas = int(os.environ.get("REPLICAS", 2))
    gateway_port, rasa_port = int(os.environ.get("GATEWAY_PORT", 8080)), int(os.environ.get("RASA_PORT", 5005))
    actions_port = int(os.environ.get("ACTIONS_PORT", 5055))
    stack = ProdStack(
        data_dir=ROOT / "data" / "prod",
        billing_db=os.environ.get("DATABASE_URL") or ensure_database(server, "aa_billing"),
        tracker_db=ensure_database(server, "aa_rasa"),
        gateway_db=os.environ.get("GATEWAY_DATABASE_URL") or ensure_database(server, "aa_gateway"),
        redis_url=redis_url,
        replicas=replicas,
        gateway_port=gateway_port,
        rasa_port=rasa_port,
        secrets=kept_secrets(ROOT / "data" / "prod" / "secrets.json"),
        actions_port=actions_port,
        billing_port=int(os.environ.get("BILLING_PORT", 8001)),
        replica_ports={
            "gateway": [gateway_port + 1 + i for i in range(replicas)],
            "rasa": [rasa_port + 100 + i for i in range(replicas)],
            "actions": [actions_port + 100 + i for i in range(replicas)],
        },
    )

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    print(
        f"starting billing, {replicas} action servers, {replicas} Rasa servers, {replicas} gateways and the "
        "balancer on PostgreSQL and Redis (logs in data/prod/logs/) ...",
        flush=True,
    )
    try:
        stack.start()
        ports = {k: ", ".join(str(p) for p in v) for k, v in stack.replica_ports.items()}
        server_shown = make_url(stack.billing_db).render_as_string(hide_password=True).rsplit("/", 1)[0]
        print(
            f"""
  Public (balancer):  {stack.gateway_url}/   (demo page with the widget; /account signed in as alex@acme.example)
  Gateways:           127.0.0.1:{ports["gateway"]}
  Rasa (balancer):    {stack.webhook_url}   -> 127.0.0.1:{ports["rasa"]}
  Actions (balancer): http://127.0.0.1:{stack.actions_port}/webhook   -> 127.0.0.1:{ports["actions"]}
  Billing API:        {stack.billing_url}/docs
  PostgreSQL:         {server_shown}/{{aa_billing,aa_rasa,aa_gateway}}
  Redis:              {stack.redis.address} (lock store, gateway fan-out; prefix {stack.prefix}; as user
                      {stack.redis.username or "default"}{", created for this run" if stack.redis.temporary else ""})
  Stop: Ctrl-C
""",
            flush=True,
        )
        watch(stack)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
