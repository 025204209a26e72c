"""HAProxy, the load balancer of the production topology: its configuration and its program.

One template, deploy/haproxy.cfg.template, holds the policy (timeouts, health checks, the edge's
header rules); this module fills in where each pool listens and its servers:

- ``make run-prod`` (bot/launch/production.py): everything on loopback; HAProxy connects to the gateways
  from its own loopback address, ``BALANCER_SOURCE``, the only one they take forwarded headers from.
- docker compose: ``python -m bot.launch.haproxy > deploy/haproxy.cfg`` writes the compose topology's file,
  mounted into the official ``haproxy`` image (tests/deploy checks that the file is current).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.launch.runner import ROOT

TEMPLATE = ROOT / "deploy" / "haproxy.cfg.template"
POOLS = ("gateway", "rasa", "actions")
# make run-prod: HAProxy's connections to the gateways come from this address and the gateways trust
# forwarded headers from it alone, so no other local process (a client, another service) can tell a
# gateway it is someone else. Linux routes all of 127.0.0.0/8 to the loopback interface.
BALANCER_SOURCE = "127.0.0.2"
# Compose: the gateways are reached by their names on the network they share with the balancer only
# (edge, where the balancer has the fixed address they trust: docker-compose.yml), and HAProxy
# resolves names at run time through Docker's DNS (a restarted container comes back with a new
# address; one not started yet leaves its server down instead of stopping HAProxy).
COMPOSE_SERVER_OPTIONS = "resolvers default init-addr last,libc,none"
INSTALL = (
    "HAProxy is not installed, and the production topology's load balancer is HAProxy. "
    "Install it: apt-get install haproxy (Debian/Ubuntu, as root)."
)


class HaproxyMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Server:
    name: str
    address: str  # host:port
    options: str = ""  # more server keywords (the health check itself is in the template's defaults)

    def line(self) -> str:
        return f"    server {self.name} {self.address}" + (f" {self.options}" if self.options else "")


def render(binds: Mapping[str, str], servers: Mapping[str, Sequence[Server]]) -> str:
    """The configuration: ``binds`` pool -> "host:port" it listens on, ``servers`` pool -> its servers."""
    if set(binds) != set(POOLS) or set(servers) != set(POOLS):
        raise ValueError(f"every pool needs an address and servers: {', '.join(POOLS)}")
    values = {f"{pool}_bind": binds[pool] for pool in POOLS}
    for pool in POOLS:
        if not servers[pool]:
            raise ValueError(f"pool {pool}: no servers")
        values[f"{pool}_servers"] = "\n".join(s.line() for s in servers[pool])
    text = TEMPLATE.read_text()
    missing = set(re.findall(r"\{\{(\w+)\}\}", text)) - set(values)
    if missing:
        raise ValueError(f"{TEMPLATE.name}: nothing to put in {sorted(missing)}")
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text)


def loopback(ports: Mapping[str, int], replica_ports: Mapping[str, Sequence[int]]) -> str:
    """make run-prod's configuration: each pool on 127.0.0.1:<port>, its replicas on loopback."""
    servers = {
        pool: [
            Server(f"{pool}-{i + 1}", f"127.0.0.1:{port}", f"source {BALANCER_SOURCE}" if pool == "gateway" else "")
            for i, port in enumerate(replica_ports[pool])
        ]
        for pool in POOLS
    }
    return render({pool: f"127.0.0.1:{ports[pool]}" for pool in POOLS}, servers)


# Compose: where each pool listens. The public one on every address (the published port, and the
# action servers' handoff notices on actions-gateways); each internal pool on the balancer's fixed
# address on its own network only, so only that network's callers reach it (docker-compose.yml).
COMPOSE_BINDS = {"gateway": "0.0.0.0:8080", "rasa": "172.30.81.2:5005", "actions": "172.30.82.2:5055"}


def compose(replicas: int = 2) -> str:
    """deploy/haproxy.cfg: the compose services gateway-N (by their name on the edge network),
    rasa-N and actions-N."""
    host = {"gateway": "edge-gateway-{n}", "rasa": "rasa-{n}", "actions": "actions-{n}"}
    servers = {
        pool: [
            Server(
                f"{pool}-{n}",
                f"{host[pool].format(n=n)}:{COMPOSE_BINDS[pool].rsplit(':', 1)[1]}",
                COMPOSE_SERVER_OPTIONS,
            )
            for n in range(1, replicas + 1)
        ]
        for pool in POOLS
    }
    return render(COMPOSE_BINDS, servers)


def binary() -> str:
    """The haproxy program (Debian installs it in /usr/sbin, which a user's PATH may lack)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("haproxy", path=path)
    if found is None:
        raise HaproxyMissing(INSTALL)
    return found


def command(config: os.PathLike[str] | str) -> list[str]:
    """HAProxy in the foreground on ``config`` (SIGTERM stops it)."""
    return [binary(), "-db", "-f", str(config)]


if __name__ == "__main__":
    sys.stdout.write(compose())
