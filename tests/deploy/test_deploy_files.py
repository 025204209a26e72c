"""The deployment files (deploy/): no container engine or cluster runs here, so they are checked
against the schemas their tools use and against what the code actually reads.

- docker-compose.yml against the compose-spec JSON schema (shipped in check-jsonschema);
- kubernetes/*.yaml against Kubernetes' own schemas, strict (shipped in kubernetes-validate);
- consistency: every variable a service is given is one its code reads (the gateway's and billing's
  settings, the actions' and the billing client's environment look-ups, the ${...} in Rasa's
  endpoints and credentials), every one it needs is given, URLs name a service and the port it
  listens on, health checks probe that port, the balancer's backends exist, images and Dockerfiles
  line up, and shared secrets are the same everywhere;
- the balancer (HAProxy, deploy/haproxy.cfg): the file is what bot/launch/haproxy.py makes of the template,
  it fronts every replica, and the gateways believe forwarded headers from its address alone.
"""

from __future__ import annotations

import ipaddress
import json
import re
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from bot.billing.config import Settings as BillingSettings
from bot.console.config import ConsoleSettings
from bot.gateway.__main__ import trusted_proxies
from bot.gateway.config import GatewaySettings
from bot.launch import haproxy
from bot.launch.runner import ROOT
from bot.telemetry import ENVIRONMENT as TELEMETRY_ENV

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
K8S_VERSION = "1.30.0"

COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
HAPROXY = (DEPLOY / "haproxy.cfg").read_text()
MANIFESTS = [
    (path.name, doc) for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc
]

# What each role's code reads from the environment.
ANY = {"PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL", "RASA_TELEMETRY_ENABLED"}
ENV_LOOKUP = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")


def _looked_up(*folders: str) -> set[str]:
    return {
        name
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        for name in ENV_LOOKUP.findall(path.read_text())
    }


def _placeholders(*files: str) -> set[str]:
    return {name for f in files for name in re.findall(r"\$\{(\w+)\}", (ROOT / f).read_text())}


# bot/telemetry (logs, /metrics) runs in the gateway, billing and the action server alike.
READS = {
    "gateway": {f.upper() for f in GatewaySettings.model_fields} | {"FORWARDED_ALLOW_IPS", *TELEMETRY_ENV},
    "billing": {f.upper() for f in BillingSettings.model_fields} | set(TELEMETRY_ENV),
    "actions": _looked_up("bot/actions", "bot/billing_client") | set(TELEMETRY_ENV),
    "rasa": _placeholders("bot/endpoints.prod.yml", "bot/credentials.yml") | {"RASA_API_TOKEN", "SANIC_WORKERS"},
    # the retention job (a CronJob, a compose service; tests/deploy/test_privacy_deploy.py): the gateway's settings
    "retention": {f.upper() for f in GatewaySettings.model_fields} | set(TELEMETRY_ENV),
    "console": {f.upper() for f in ConsoleSettings.model_fields} | set(TELEMETRY_ENV),
}
JOBS = {"retention"}  # programs that run and exit: no port, no health check, no Deployment
METRICS = ("METRICS_HOST", "METRICS_PORT")  # /metrics on a port of its own, reachable by Prometheus
NEEDS = {
    "gateway": {
        "GATEWAY_HOST",
        "GATEWAY_PORT",
        "GATEWAY_PUBLIC_URL",
        "GATEWAY_DATABASE_URL",
        "GATEWAY_REDIS_URL",
        "GATEWAY_REDIS_PASSWORD",
        "GATEWAY_FANOUT_KEY",
        "RASA_WEBHOOK_URL",
        "GATEWAY_TOKEN",
        "BILLING_URL",
        "BILLING_GATEWAY_TOKEN",
        "WIDGET_SIGNING_KEY",
        "WIDGET_JWT_SECRET",
        *METRICS,
    },
    "billing": {
        "DATABASE_URL",
        "BILLING_HOST",
        "BILLING_PORT",
        "BILLING_ACTIONS_TOKEN",
        "BILLING_GATEWAY_TOKEN",
        "BILLING_SIGNING_KEY",
        *METRICS,
    },
    "actions": {
        "BILLING_URL",
        "BILLING_ACTIONS_TOKEN",
        "GATEWAY_URL",
        "GATEWAY_TOKEN",
        "ACTION_SERVER_TOKEN",
        *METRICS,
    },
    "rasa": _placeholders("bot/endpoints.prod.yml", "bot/credentials.yml"),
    "retention": {"GATEWAY_DATABASE_URL", "RASA_TRACKER_URL", "RETENTION_DAYS"},
    "console": {
        "CONSOLE_HOST",
        "CONSOLE_PORT",
        "CONSOLE_PUBLIC_URL",
        "CONSOLE_DATABASE_URL",
        "RASA_TRACKER_URL",
        "GATEWAY_DATABASE_URL",
        "BILLING_URL",
        "BILLING_CONSOLE_TOKEN",
        "GATEWAY_URL",
        "CONSOLE_OIDC_CLIENT_ID",
        "CONSOLE_OIDC_CLIENT_SECRET",
        "CONSOLE_SLACK_TEAM",
        "CONSOLE_SESSION_KEY",
    },
}


def role(command: list[str]) -> str:
    """Which of our programs a container runs, from its command."""
    line = " ".join(command)
    for module, name in (
        ("bot.gateway", "gateway"),
        ("bot.billing", "billing"),
        ("bot.rasa_server", "rasa"),
        ("bot.actions", "actions"),
        ("bot.privacy", "retention"),
        ("bot.console", "console"),
    ):
        if module in line:
            return name
    raise AssertionError(f"unknown command {line!r}")


def listens(name: str, command: list[str], env: dict[str, str]) -> set[int]:
    """The ports a container listens on, from its command and settings (its metrics port too)."""
    kind = role(command)
    if kind in JOBS:
        return set()
    metrics = {int(env["METRICS_PORT"])} if int(env.get("METRICS_PORT") or 0) else set()
    if kind == "gateway":
        return {int(env.get("GATEWAY_PORT", GatewaySettings.model_fields["gateway_port"].default))} | metrics
    if kind == "billing":
        return {int(env.get("BILLING_PORT", 8001))} | metrics
    if kind == "console":
        return {int(env.get("CONSOLE_PORT", ConsoleSettings.model_fields["console_port"].default))} | metrics
    assert "--port" in command, f"{name}: give the port explicitly"
    return {int(command[command.index("--port") + 1])} | metrics


def check_rasa_api(name: str, command: list[str], env: dict[str, str]) -> None:
    if "--enable-api" in command:
        assert "--auth-token" not in command, f"{name}: the API token belongs in RASA_API_TOKEN, not the command"
        assert "RASA_API_TOKEN" in env, f"{name}: --enable-api without RASA_API_TOKEN"
        assert "RASA_API_TOKEN" in (ROOT / "bot" / "rasa_server" / "run.py").read_text(), (
            "bot.rasa_server does not take the API token from RASA_API_TOKEN: the API would be open"
        )


def check_env(name: str, kind: str, env: dict[str, str]) -> None:
    unknown = set(env) - READS[kind] - ANY
    assert not unknown, f"{name}: {sorted(unknown)} are read by nothing in the {kind} code"
    missing = NEEDS[kind] - set(env)
    assert not missing, f"{name}: {sorted(missing)} are not set"


def urls(env: dict[str, str]) -> list[tuple[str, str, int]]:
    found = []
    for key, value in env.items():
        if isinstance(value, str) and value.startswith(("http://", "redis://", "postgresql://")) and "${" not in value:
            parts = urlsplit(value)
            found.append(
                (key, parts.hostname or "", parts.port or {"http": 80, "redis": 6379, "postgresql": 5432}[parts.scheme])
            )
    return found


# -- compose ---------------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec():
    schema = json.loads(
        resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    jsonschema.validate(COMPOSE, schema)


def _compose_ours() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in COMPOSE["services"].items() if "build" in s}


def _haproxy_sections() -> dict[str, list[str]]:
    """deploy/haproxy.cfg: "frontend public" -> its lines (comments dropped), and so on."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in HAPROXY.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line[0].isspace():
            current = sections.setdefault(line.strip(), [])
        else:
            current.append(line.strip())
    return sections


def _haproxy_pools() -> dict[str, tuple[str, int, list[str]]]:
    """Each frontend's backend -> (the address it listens on, its port, its servers' host:port)."""
    sections, pools = _haproxy_sections(), {}
    for title, lines in sections.items():
        if title.startswith("frontend "):
            (bind,) = [line.split()[1] for line in lines if line.startswith("bind ")]
            (backend,) = [line.split()[1] for line in lines if line.startswith("default_backend ")]
            servers = [line.split()[2] for line in sections[f"backend {backend}"] if line.startswith("server ")]
            address, port = bind.rsplit(":", 1)
            pools[backend] = (address, int(port), servers)
    return pools


def _networks(name: str) -> dict[str, dict[str, Any]]:
    """A compose service's networks -> their settings (aliases, fixed address), the list form too."""
    given = COMPOSE["services"][name].get("networks") or {"default": {}}
    return {n: {} for n in given} if isinstance(given, list) else {n: (v or {}) for n, v in given.items()}


def _listening(name: str, network: str | None = None) -> set[int]:
    """The ports a service listens on (on ``network``: the balancer binds some pools to one network)."""
    service = COMPOSE["services"][name]
    if name == "balancer":
        mine = _networks(name).get(network or "", {}).get("ipv4_address")
        return {
            port
            for address, port, _ in _haproxy_pools().values()
            if address in ("0.0.0.0", "*", "") or network is None or address == mine
        }
    if "build" not in service:
        return {{"postgres": 5432, "redis": 6379, "prometheus": 9090}[name]}
    return listens(name, service["command"], service.get("environment") or {})


def _resolve(caller: str, host: str) -> list[tuple[str, str]]:
    """(service, network) that ``host`` names for ``caller``: a service or an alias on a network they share."""
    found = []
    for network in _networks(caller):
        for name in COMPOSE["services"]:
            settings = _networks(name).get(network)
            if settings is not None and (host == name or host in (settings.get("aliases") or [])):
                found.append((name, network))
    return found


def _compose_host(host: str) -> str:
    """The compose service a host name in deploy/haproxy.cfg names (from the balancer)."""
    found = {name for name, _ in _resolve("balancer", host)}
    assert len(found) == 1, f"deploy/haproxy.cfg: {host} names {sorted(found) or 'no compose service'} for the balancer"
    return found.pop()


def test_compose_services_get_the_variables_their_code_reads_and_reach_real_ports():
    ours = _compose_ours()
    assert {role(s["command"]) for s in ours.values()} == set(READS)
    for name, service in ours.items():
        env, kind = service.get("environment") or {}, role(service["command"])
        check_env(name, kind, env)
        if kind == "rasa":
            check_rasa_api(name, service["command"], env)
            for host_key, port_key in (("RASA_DB_HOST", "RASA_DB_PORT"), ("REDIS_HOST", "REDIS_PORT")):
                reachable = _resolve(name, env[host_key])
                assert any(int(env[port_key]) in _listening(target, net) for target, net in reachable), (
                    f"{name}: {host_key}:{port_key}"
                )
        for key, host, port in urls(env):
            if host in ("127.0.0.1", "localhost"):
                assert key.endswith("_PUBLIC_URL"), f"{name}: {key} points at the container itself"
                continue
            targets = _resolve(name, host)
            assert targets, f"{name}: {key} names no service on its networks ({host})"
            assert all(port in _listening(target, net) for target, net in targets), (
                f"{name}: {key}: {host} does not listen on {port} there"
            )
        if kind in JOBS:
            continue
        health = " ".join(service["healthcheck"]["test"])
        probed = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", health)}
        assert probed and probed <= _listening(name), f"{name}: the health check probes {probed}"


def test_compose_haproxy_config_is_the_template_rendered():
    assert HAPROXY == haproxy.compose(), (
        "deploy/haproxy.cfg is stale: python -m bot.launch.haproxy > deploy/haproxy.cfg"
    )


def test_compose_balancer_is_haproxy_fronting_every_replica_and_only_it_is_published():
    balancer = COMPOSE["services"]["balancer"]
    assert balancer["image"].startswith("haproxy:") and "build" not in balancer
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    probed = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", " ".join(balancer["healthcheck"]["test"]))}
    assert probed and probed <= _listening("balancer")
    pools = _haproxy_pools()
    assert set(pools) == {"gateways", "rasa", "actions"}
    for backend, (_address, _port, servers) in pools.items():
        kind = {"gateways": "gateway"}.get(backend, backend)
        hosts = set()
        for server in servers:
            host, port = server.rsplit(":", 1)
            hosts.add(_compose_host(host))
            assert int(port) in _listening(_compose_host(host)), server
        replicas = {n for n, s in _compose_ours().items() if role(s["command"]) == kind}
        assert hosts == replicas and len(replicas) >= 2, backend
    published = {n for n, s in COMPOSE["services"].items() if s.get("ports")}
    assert published == {"balancer", "prometheus", "console"}
    # Prometheus and the staff console (optional profiles) on the host's loopback only
    for name, profile in (("prometheus", "monitoring"), ("console", "console")):
        assert all(p.startswith("127.0.0.1:") for p in COMPOSE["services"][name]["ports"]), name
        assert COMPOSE["services"][name]["profiles"] == [profile]


def test_compose_gateways_believe_forwarded_headers_from_the_balancer_alone():
    """The balancer reaches the gateways over the edge network, where it has a fixed address; that
    address is the only one the gateways take X-Forwarded-For from (never "*")."""
    edge = ipaddress.ip_network(COMPOSE["networks"]["edge"]["ipam"]["config"][0]["subnet"])
    members = {n for n in COMPOSE["services"] if "edge" in _networks(n)}
    gateways = {n for n, s in _compose_ours().items() if role(s["command"]) == "gateway"}
    assert members == gateways | {"balancer"}, "only the balancer and the gateways share the edge network"
    address = COMPOSE["services"]["balancer"]["networks"]["edge"]["ipv4_address"]
    assert ipaddress.ip_address(address) in edge
    _address, _port, servers = _haproxy_pools()["gateways"]
    for name in gateways:
        service = COMPOSE["services"][name]
        assert trusted_proxies(service["environment"]["FORWARDED_ALLOW_IPS"]) == address, name
        aliases = service["networks"]["edge"]["aliases"]
        assert any(s.rsplit(":", 1)[0] in aliases for s in servers), f"{name} is not reached over the edge network"


def test_compose_shared_secrets_are_the_same_everywhere():
    ours = _compose_ours()
    for key in ("GATEWAY_TOKEN", "RASA_API_TOKEN"):
        values = {_variable(s["environment"][key]) for s in ours.values() if key in (s.get("environment") or {})}
        assert len(values) == 1, (key, values)
    billing = COMPOSE["services"]["billing"]["environment"]
    for name, service in ours.items():
        env, kind = service.get("environment") or {}, role(service["command"])
        for key in ("BILLING_ACTIONS_TOKEN", "BILLING_GATEWAY_TOKEN"):
            if key in env and kind != "billing":
                assert _variable(env[key]) == _variable(billing[key]), f"billing does not accept {name}'s {key}"
        # Each caller holds its own billing token only: the gateway's can't act as a customer.
        if kind == "gateway":
            assert "BILLING_ACTIONS_TOKEN" not in env, name
        if kind == "actions":
            assert "BILLING_GATEWAY_TOKEN" not in env, name


def _variable(value: str) -> str:
    """The deploy/.env variable a value comes from: ${NAME}, ${NAME:?...}, ${NAME:-...}."""
    found = re.fullmatch(r"\$\{(\w+)(?::[-?].*)?\}", value)
    assert found, f"{value!r}: a secret must come from deploy/.env"
    return found.group(1)


def test_compose_images_are_built_from_dockerfiles_that_copy_what_exists():
    images: dict[str, str] = {}
    for name, service in _compose_ours().items():
        dockerfile = (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve()
        assert dockerfile.is_file(), f"{name}: {dockerfile}"
        assert images.setdefault(service["image"], str(dockerfile)) == str(dockerfile), "one image, one Dockerfile"
        kind = role(service["command"])
        expected = "Dockerfile.rasa" if kind in ("rasa", "actions") else "Dockerfile.app"
        assert dockerfile.name == expected, f"{name} ({kind}) runs in the wrong environment"
    for dockerfile in DEPLOY.glob("Dockerfile.*"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source}: no such file"
    for volume in COMPOSE["services"]["postgres"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOY / source).is_file(), volume
    init = (DEPLOY / "postgres-init.sql").read_text()
    dbs = {
        urlsplit(s["environment"][k]).path.strip("/")
        for s in _compose_ours().values()
        for k in ("DATABASE_URL", "GATEWAY_DATABASE_URL")
        if k in (s.get("environment") or {})
    }
    dbs |= {
        s["environment"]["RASA_DB_NAME"]
        for s in _compose_ours().values()
        if "RASA_DB_NAME" in (s.get("environment") or {})
    }
    assert all(f"CREATE DATABASE {db};" in init for db in dbs), dbs


def test_the_env_example_lists_every_required_secret():
    required = set(re.findall(r"\$\{(\w+):\?", (DEPLOY / "docker-compose.yml").read_text()))
    given = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert required and required <= given, required - given


# -- Kubernetes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, doc", MANIFESTS, ids=[f"{n}:{d['kind']}" for n, d in MANIFESTS])
def test_kubernetes_manifest_matches_the_kubernetes_schema(name, doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _k8s(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in MANIFESTS if d["kind"] == kind}


def _container_env(container: dict[str, Any]) -> dict[str, str]:
    config = next(iter(_k8s("ConfigMap").values()))["data"]
    secret = next(iter(_k8s("Secret").values()))["stringData"]
    env = {}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            source = item["valueFrom"]
            ref = source.get("configMapKeyRef") or source.get("secretKeyRef")
            table = config if "configMapKeyRef" in source else secret
            assert ref["key"] in table, f"{item['name']}: no key {ref['key']} in the {ref['name']} map"
            env[item["name"]] = table[ref["key"]]
    return env


def test_kubernetes_deployments_get_what_their_code_reads_and_services_line_up():
    services, deployments = _k8s("Service"), _k8s("Deployment")
    compose_images = {s["image"] for s in _compose_ours().values()}
    kinds = set()
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        env, kind = _container_env(container), role(container["command"])
        kinds.add(kind)
        assert container["image"] in compose_images, f"{name}: image {container['image']} is built by nothing"
        check_env(name, kind, env)
        if kind == "rasa":
            check_rasa_api(name, container["command"], env)
        if kind in ("rasa", "actions", "gateway"):
            assert deployment["spec"]["replicas"] >= 2, f"{name}: one replica"
        ports = listens(name, container["command"], env)
        assert {p["containerPort"] for p in container["ports"]} == ports, name
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["port"] in ports, f"{name}: {probe}"
        service = services[name]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), name
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name
        for key, host, port in urls(env):
            if host in services:
                assert port in {p["port"] for p in services[host]["spec"]["ports"]}, f"{name}: {key}"
            else:
                assert host.endswith(".example") or host.endswith(".internal") or key.endswith("_PUBLIC_URL"), (
                    f"{name}: {key} names no Service ({host})"
                )
    assert kinds == set(READS) - JOBS  # Services balance in Kubernetes
    ingress = next(iter(_k8s("Ingress").values()))
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway" and backend["port"]["number"] in {
        p["port"] for p in services["gateway"]["spec"]["ports"]
    }


def test_kubernetes_gateways_believe_forwarded_headers_from_the_ingress_only():
    (container,) = _k8s("Deployment")["gateway"]["spec"]["template"]["spec"]["containers"]
    value = _container_env(container)["FORWARDED_ALLOW_IPS"]
    assert trusted_proxies(value), value  # addresses or networks, never "*" (that refuses to start)
    for item in value.split(","):
        assert ipaddress.ip_network(item.strip(), strict=False).is_private, item


# Who may call whom (DESIGN.md "Trust boundaries"): caller -> the pods it may reach, on which port.
CALLS = {
    ("ingress", "gateway", 8080),
    ("actions", "gateway", 8080),
    ("gateway", "rasa", 5005),
    ("rasa", "actions", 5055),
    ("actions", "billing", 8001),
    ("gateway", "billing", 8001),
    ("ingress", "billing", 8001),
    # Prometheus, from its namespace, on the metrics port of the services that have one
    ("monitoring", "gateway", 9101),
    ("monitoring", "actions", 9101),
    ("monitoring", "billing", 9101),
    # the staff console: staff through the internal entry only; it calls the privacy API and billing
    ("staff", "console", 8090),
    ("console", "gateway", 8080),
    ("console", "billing", 8001),
}
INGRESS_NAMESPACE = "ingress-nginx"
NAMESPACES = {INGRESS_NAMESPACE: "ingress", "monitoring": "monitoring", "staff-access": "staff"}


def _allowed_calls() -> set[tuple[str, str, int]]:
    """(caller, pod, port) that the NetworkPolicies let through; every pod must be under a policy."""
    policies = [doc for _, doc in MANIFESTS if doc["kind"] == "NetworkPolicy"]
    allowed: set[tuple[str, str, int]] = set()
    for policy in policies:
        spec = policy["spec"]
        if spec.get("policyTypes") == ["Egress"]:
            continue  # a job's way out (tests/deploy/test_privacy_deploy.py)
        assert spec.get("policyTypes") == ["Ingress"], policy["metadata"]["name"]
        target = (spec["podSelector"].get("matchLabels") or {}).get("app.kubernetes.io/name")
        for rule in spec.get("ingress") or []:
            ports = [p["port"] for p in rule.get("ports") or []]
            assert ports, f"{policy['metadata']['name']}: a rule without ports opens every port"
            for peer in rule["from"]:
                if "namespaceSelector" in peer:
                    labels = peer["namespaceSelector"]["matchLabels"]
                    assert set(labels) == {"kubernetes.io/metadata.name"} and "podSelector" not in peer
                    caller = NAMESPACES[labels["kubernetes.io/metadata.name"]]
                else:
                    caller = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                allowed |= {(caller, target, port) for port in ports}
    return allowed


def test_kubernetes_network_policies_allow_exactly_the_calls_of_the_design():
    policies = [doc for _, doc in MANIFESTS if doc["kind"] == "NetworkPolicy"]
    deny_all = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny_all, "no default-deny policy: pods without a policy of their own would take any caller"
    assert _allowed_calls() == CALLS
    # every Deployment's pods are the target of a policy, on the port their container listens on
    targets = {(p["spec"]["podSelector"].get("matchLabels") or {}).get("app.kubernetes.io/name") for p in policies}
    for name, deployment in _k8s("Deployment").items():
        assert name in targets, f"{name}: no NetworkPolicy names its callers"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        listening = {p["containerPort"] for p in container.get("ports") or []}
        assert listening == {port for _, pod, port in CALLS if pod == name}, name
    assert INGRESS_NAMESPACE in (K8S / "networkpolicy.yaml").read_text()


def _kind(name: str) -> str:
    service = COMPOSE["services"][name]
    return role(service["command"]) if "build" in service else name


# What a container of each kind can connect to in compose, (caller, callee, port): the design's
# calls, with Rasa and the action servers behind the balancer's pools (5005, 5055), the balancer's
# public side open to all (it is the internet's), and the databases. Two residues of networks being
# two-way, both behind a secret: billing shares a network with the action servers (their
# ACTION_SERVER_TOKEN) and with the gateways (their public port).
COMPOSE_REACH = {
    ("gateway", "balancer", 8080),
    ("gateway", "balancer", 5005),
    ("gateway", "billing", 8001),
    ("gateway", "postgres", 5432),
    ("gateway", "redis", 6379),
    ("rasa", "balancer", 8080),
    ("rasa", "balancer", 5055),
    ("rasa", "postgres", 5432),
    ("rasa", "redis", 6379),
    ("actions", "balancer", 8080),
    ("actions", "billing", 8001),
    ("billing", "postgres", 5432),
    ("billing", "actions", 5055),
    ("billing", "gateway", 8080),
    # Each kind shares a metrics network with Prometheus alone (its read API is open on it)
    # A third residue: a metrics port listens on every network of its container (METRICS_HOST
    # 0.0.0.0), so what already shares a network with billing sees its counts, and billing theirs.
    # Read-only and holding no customer data (tests/e2e/test_operations.py); no secret needed.
    ("actions", "billing", 9101),
    ("gateway", "billing", 9101),
    ("billing", "actions", 9101),
    ("billing", "gateway", 9101),
    ("gateway", "prometheus", 9090),
    ("actions", "prometheus", 9090),
    ("billing", "prometheus", 9090),
    ("retention", "postgres", 5432),  # the databases, and nothing else
    # The staff console: PostgreSQL, billing (console:read) and the gateways' privacy API; residues of
    # two-way networks: billing and the gateways see its port, and it their metrics ports.
    ("console", "postgres", 5432),
    ("console", "billing", 8001),
    ("console", "gateway", 8080),
    ("console", "billing", 9101),
    ("console", "gateway", 9101),
    ("billing", "console", 8090),
    ("gateway", "console", 8090),
}


def test_compose_networks_let_each_container_reach_its_callees_only():
    reach = set()
    for caller in _compose_ours():
        for network in _networks(caller):
            for callee in COMPOSE["services"]:
                if callee != caller and network in _networks(callee) and _kind(callee) != _kind(caller):
                    reach |= {(_kind(caller), _kind(callee), port) for port in _listening(callee, network)}
    assert reach == COMPOSE_REACH, (sorted(reach - COMPOSE_REACH), sorted(COMPOSE_REACH - reach))
    # the internal pools listen on their callers' network only
    pools = _haproxy_pools()
    assert pools["rasa"][0] == _networks("balancer")["gateways-rasa"]["ipv4_address"]
    assert pools["actions"][0] == _networks("balancer")["rasa-actions"]["ipv4_address"]
    # and nothing but the public side and billing's mail has a way out of the host
    outside = {n for n, settings in COMPOSE["networks"].items() if not (settings or {}).get("internal")}
    assert outside == {"edge", "billing-mail", "monitoring", "staff"}
    assert {n for n in COMPOSE["services"] if "staff" in _networks(n)} == {"console"}
    assert {n for n in COMPOSE["services"] if "monitoring" in _networks(n)} == {"prometheus"}


def test_compose_prometheus_scrapes_every_metrics_port_and_nothing_else():
    config = yaml.safe_load((DEPLOY / "prometheus" / "compose.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    scraped = set()
    for target in targets:
        host, port = target.rsplit(":", 1)
        found = _resolve("prometheus", host)
        assert len(found) == 1, f"{target}: {found}"
        (service, _network), env = found[0], COMPOSE["services"][found[0][0]]["environment"]
        assert int(port) == int(env["METRICS_PORT"]) and env["METRICS_HOST"] == "0.0.0.0", target
        scraped.add(service)
    assert scraped == {n for n, s in _compose_ours().items() if "METRICS_PORT" in (s.get("environment") or {})}
    # the console has no metrics port (its pages are read by people, not counted)
    assert scraped == {n for n, s in _compose_ours().items() if role(s["command"]) not in {"rasa", "console", *JOBS}}


def test_the_public_balancer_and_ingress_never_serve_metrics():
    public = _haproxy_sections()["frontend public"]
    assert "http-request deny deny_status 404 if { path_beg -i /metrics }" in public
    assert "http-request set-header X-Request-Id %[unique-id]" in public
    for _file, doc in MANIFESTS:
        if doc["kind"] in ("Service", "Ingress"):
            assert "9101" not in json.dumps(doc), doc["metadata"]
