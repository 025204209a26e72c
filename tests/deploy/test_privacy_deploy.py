"""The retention job and the privacy admin API in the deployment files (docs/privacy.md), with the
conventions test_deploy_files.py checks for the services (whose helpers this reuses):

- Kubernetes: a CronJob runs ``python -m bot.privacy retention`` once a day, one run at a time, with
  a deadline, in the gateway's image, with the gateway's database and Rasa's tracker database from
  the same Secret keys as the gateways, and a NetworkPolicy that lets it reach PostgreSQL (and DNS)
  only; the gateways get the admin token and Rasa's tracker database;
- compose: a service loops the same command daily, on a network shared with PostgreSQL alone;
- ``make run-prod``: its gateways start in production with the admin API (a token of the stack's own,
  its PostgreSQL tracker store), and its retention loop has the gateways' settings.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.gateway.__main__ import unsafe_settings
from bot.gateway.config import GatewaySettings
from bot.launch.prod_env import kept_secrets
from bot.launch.prod_stack import ProdStack
from bot.launch.runner import DEFAULT_PRIVACY_ADMIN_TOKEN, env_for
from bot.settings_check import secret_problem
from tests.deploy.test_deploy_files import (
    COMPOSE,
    DEPLOY,
    MANIFESTS,
    _container_env,
    _k8s,
    _listening,
    _networks,
    _variable,
    check_env,
    role,
)

DATABASES = ("GATEWAY_DATABASE_URL", "RASA_TRACKER_URL")


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    return (spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)["template"]


def _refs(container: dict[str, Any]) -> dict[str, Any]:
    """Each variable -> where it comes from (its value, or its ConfigMap/Secret key)."""
    return {item["name"]: item.get("valueFrom") or item["value"] for item in container["env"]}


def _rasa_database() -> tuple[str, int, str, str]:
    (container,) = _pod(_k8s("Deployment")["rasa"])["spec"]["containers"]
    env = _container_env(container)
    return env["RASA_DB_HOST"], int(env["RASA_DB_PORT"]), env["RASA_DB_NAME"], env["RASA_DB_USER"]


def _database(url: str) -> tuple[str, int, str, str]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 5432, parts.path.strip("/"), parts.username or ""


# -- Kubernetes ------------------------------------------------------------------------------------


def test_kubernetes_retention_runs_daily_one_at_a_time_as_the_gateway_runs():
    job = _k8s("CronJob")["retention"]
    minute, hour, *every = job["spec"]["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and every == ["*", "*", "*"], "once a day, at a fixed time"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    run = job["spec"]["jobTemplate"]["spec"]
    assert 0 < run["activeDeadlineSeconds"] <= 86_400, "a run that hangs is stopped before the next one"
    pod, gateway = _pod(job), _pod(_k8s("Deployment")["gateway"])
    assert pod["spec"]["restartPolicy"] in ("Never", "OnFailure")
    assert pod["spec"]["securityContext"] == gateway["spec"]["securityContext"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "retention"
    (container,), (gateway_container,) = pod["spec"]["containers"], gateway["spec"]["containers"]
    assert container["image"] == gateway_container["image"]
    assert role(container["command"]) == "retention" and "--every" not in container["command"]
    assert not container.get("ports"), "a job listens on nothing"
    limits = container["resources"]["limits"]
    assert {"cpu", "memory"} <= set(limits), limits
    check_env("retention", "retention", _container_env(container))
    # the same Secret keys as the gateways': the job deletes where the gateways write and erase
    mine, theirs = _refs(container), _refs(gateway_container)
    for key in DATABASES:
        assert mine[key] == theirs[key], key


def test_kubernetes_gateways_and_the_job_erase_from_rasas_own_tracker_database():
    (gateway,) = _pod(_k8s("Deployment")["gateway"])["spec"]["containers"]
    (job,) = _pod(_k8s("CronJob")["retention"])["spec"]["containers"]
    for container in (gateway, job):
        env = _container_env(container)
        assert _database(env["RASA_TRACKER_URL"]) == _rasa_database(), container["name"]
    admin = _refs(gateway)["PRIVACY_ADMIN_TOKEN"]["secretKeyRef"]
    secret = next(iter(_k8s("Secret").values()))["stringData"]
    assert admin["key"] in secret and admin["optional"] is True  # no token in the Secret: no admin API
    assert "PRIVACY_ADMIN_TOKEN" not in _refs(job), "the job needs no token"


def test_kubernetes_retention_reaches_the_databases_only():
    egress = [d for _, d in MANIFESTS if d["kind"] == "NetworkPolicy" and "Egress" in d["spec"]["policyTypes"]]
    (policy,) = egress  # the job's alone: the services' way out is unchanged
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Egress"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "retention"}}
    allowed: set[tuple[str, int]] = set()
    for rule in spec["egress"]:
        ports = {(p["protocol"], p["port"]) for p in rule["ports"]}
        assert ports, "a rule without ports opens every port"
        for peer in rule["to"]:
            if "ipBlock" in peer:  # PostgreSQL outside the cluster
                assert ports == {("TCP", 5432)}, rule
            else:  # the cluster DNS, nothing else in the cluster
                assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}, peer
                assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
                assert ports <= {("UDP", 53), ("TCP", 53)}, rule
            allowed |= ports
    assert ("TCP", 5432) in allowed and ("UDP", 53) in allowed
    (job,) = _pod(_k8s("CronJob")["retention"])["spec"]["containers"]
    env = _container_env(job)
    assert {_database(env[key])[1] for key in DATABASES} == {5432}, "the databases' port is the one allowed"
    # and nothing may call it (default-deny-ingress, no policy names it as a target)
    ingress = [d for _, d in MANIFESTS if d["kind"] == "NetworkPolicy" and "Ingress" in d["spec"]["policyTypes"]]
    assert "retention" not in json.dumps([p["spec"] for p in ingress])


# -- compose ---------------------------------------------------------------------------------------


def test_compose_retention_loops_daily_with_the_gateways_databases_and_reaches_postgres_only():
    service = COMPOSE["services"]["retention"]
    command = service["command"]
    assert role(command) == "retention"
    assert 0 < float(command[command.index("--every") + 1]) <= 86_400
    gateway = COMPOSE["services"]["gateway-1"]
    assert service["image"] == gateway["image"] and service["build"] == gateway["build"]
    assert service["restart"] == "unless-stopped"  # the loop comes back after a crash or a reboot
    assert "memory" in service["deploy"]["resources"]["limits"]
    env, rasa = service["environment"], COMPOSE["services"]["rasa-1"]["environment"]
    for key in DATABASES:
        assert env[key] == gateway["environment"][key], key
    host, port, name, user = _database(env["RASA_TRACKER_URL"].replace("${POSTGRES_PASSWORD}", "x"))
    assert (host, port, name, user) == (rasa["RASA_DB_HOST"], int(rasa["RASA_DB_PORT"]), rasa["RASA_DB_NAME"], "aa")
    reach = {
        (callee, port)
        for network in _networks("retention")
        for callee in COMPOSE["services"]
        if callee != "retention" and network in _networks(callee)
        for port in _listening(callee, network)
    }
    assert reach == {("postgres", 5432)}, reach


def test_compose_gateways_serve_the_admin_api_only_with_a_token_from_the_env_file():
    given = {line.split("=", 1)[0] for line in (DEPLOY / ".env.example").read_text().splitlines() if "=" in line}
    for name in ("gateway-1", "gateway-2"):
        env = COMPOSE["services"][name]["environment"]
        assert _variable(env["PRIVACY_ADMIN_TOKEN"]) == "PRIVACY_ADMIN_TOKEN" and "PRIVACY_ADMIN_TOKEN" in given
        assert env["PRIVACY_ADMIN_TOKEN"].endswith(":-}"), "optional: empty, the API is not served"
        assert env["RASA_TRACKER_URL"] == COMPOSE["services"]["retention"]["environment"]["RASA_TRACKER_URL"]


# -- make run-prod ---------------------------------------------------------------------------------


@pytest.fixture
def prod(tmp_path) -> ProdStack:
    return ProdStack(
        data_dir=tmp_path,
        billing_db="postgresql://aa@db.internal:5432/aa_billing",
        tracker_db="postgresql://aa@db.internal:5432/aa_rasa",
        gateway_db="postgresql://aa@db.internal:5432/aa_gateway",
    )


def test_make_run_prod_gateways_start_in_production_with_the_admin_api(prod, monkeypatch):
    env = env_for(prod.env(), "gateway")
    assert env["RASA_TRACKER_URL"] == prod.tracker_db and "RASA_TRACKER_DB" not in env
    assert env["PRIVACY_ADMIN_TOKEN"] != DEFAULT_PRIVACY_ADMIN_TOKEN
    assert secret_problem(env["PRIVACY_ADMIN_TOKEN"]) is None
    monkeypatch.delenv("RASA_TRACKER_DB", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert env["APP_ENV"] == "production"
    unsafe_settings(GatewaySettings())  # raises (UnsafeSettings) where the gateway would refuse to start
    job = prod.retention()
    assert job.argv[1:5] == ["-m", "bot.privacy", "retention", "--every"]
    assert job.env == env


def test_make_run_prod_adds_the_admin_token_to_an_older_secrets_file(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"GATEWAY_TOKEN": "kept-" + "x" * 40}))
    secrets = kept_secrets(path)
    assert secrets["GATEWAY_TOKEN"] == "kept-" + "x" * 40  # what the stack had is kept
    assert secret_problem(secrets["PRIVACY_ADMIN_TOKEN"]) is None
    assert json.loads(path.read_text())["PRIVACY_ADMIN_TOKEN"] == secrets["PRIVACY_ADMIN_TOKEN"]
