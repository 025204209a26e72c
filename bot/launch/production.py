"""The production topology on one machine: ``make run-prod``.

    python -m bot.launch.production        # until Ctrl-C; logs in data/prod/logs/

Checks that PostgreSQL and Redis answer, creates the databases, keeps the stack's secrets in
data/prod/secrets.json, starts ``ProdStack`` (prod_stack.py: two of each replica behind HAProxy,
billing, the databases and Redis) and watches it: a replica that exits is reported, the stack
stops when billing, the balancer or every replica of a kind has gone.

Settings (environment): ``PROD_POSTGRES_URL`` (the server; default postgresql://postgres@127.0.0.1:5432/postgres;
databases aa_billing, aa_rasa, aa_gateway are created there if missing), ``REDIS_URL``
(redis://127.0.0.1:6379/0; without a password in it the stack logs in as a Redis user of its own,
bot/launch/redis_account.py), ``REPLICAS`` (2), the ports (``GATEWAY_PORT`` 8080, ``RASA_PORT``
5005, ``ACTIONS_PORT`` 5055, ``BILLING_PORT`` 8001), and everything ``make run`` reads.

``ProdStack`` and the environment helpers (prod_env.py) are re-exported here, where tests import
them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.billing.adapters.db import normalise_url
from bot.launch import haproxy
from bot.launch.prod_env import SECRET_NAMES, kept_secrets, new_secrets, rasa_db_env, redis_env
from bot.launch.prod_stack import PROD_ENDPOINTS, ProdStack
from bot.launch.runner import ROOT

__all__ = [
    "PROD_ENDPOINTS",
    "SECRET_NAMES",
    "ProdStack",
    "check_redis",
    "ensure_database",
    "kept_secrets",
    "main",
    "new_secrets",
    "rasa_db_env",
    "redis_env",
    "watch",
]


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
    # No options: settings come from the environment (the docstring). Parsing still answers --help,
    # and refuses anything else, instead of starting the stack.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
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
        console_port=int(os.environ.get("CONSOLE_PORT", 8090)),
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
        # The retention job, hourly (docs/privacy.md); a job that exits is reported by watch()
        retention = stack.retention()
        retention.start()
        stack.services.append(retention)
        console = stack.console()  # the staff console: with Sign in with Slack configured only
        if console is not None:
            console.start()
            stack.services.append(console)
            console_line = f"{stack.base.console_url}/console/   (loopback only, not behind the balancer)"
        else:
            console_line = "not started: set CONSOLE_OIDC_CLIENT_ID, CONSOLE_OIDC_CLIENT_SECRET, CONSOLE_SLACK_TEAM"
        ports = {k: ", ".join(str(p) for p in v) for k, v in stack.replica_ports.items()}
        metrics = ", ".join(f"{name} :{port}" for name, port in stack.metrics_ports.items())
        server_shown = make_url(stack.billing_db).render_as_string(hide_password=True).rsplit("/", 1)[0]
        print(
            f"""
  Public (balancer):  {stack.gateway_url}/   (demo page with the widget; /account signed in as alex@acme.example)
  Gateways:           127.0.0.1:{ports["gateway"]}
  Rasa (balancer):    {stack.webhook_url}   -> 127.0.0.1:{ports["rasa"]}
  Actions (balancer): http://127.0.0.1:{stack.actions_port}/webhook   -> 127.0.0.1:{ports["actions"]}
  Billing API:        {stack.billing_url}/docs
  Privacy admin API:  127.0.0.1:{ports["gateway"]} /admin/privacy/...   (any gateway; token PRIVACY_ADMIN_TOKEN in
                      data/prod/secrets.json; the retention job runs hourly, logs/retention.log)
  Metrics:            {metrics}   (/metrics on 127.0.0.1)
  Staff console:      {console_line}
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
