"""The Prometheus endpoint of a service: ``GET /metrics`` on a port of its own.

Not on the service's own port: the gateway's faces the internet (HAProxy, the Ingress) and
billing's serves signed links to browsers, and neither must hand out its metrics there. The
metrics port is given by ``METRICS_PORT`` (unset or 0: no endpoint) on ``METRICS_HOST``
(default 127.0.0.1; deployments say 0.0.0.0 and let only Prometheus reach the port: compose's
metrics networks, Kubernetes' NetworkPolicy). What it serves holds no customer data: counts and
timings labelled by channel, intent, action and status, never a user, an organisation or text.

A service that forks workers (the action server with ``ACTION_SERVER_SANIC_WORKERS`` > 1) needs
prometheus_client's multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` names an empty directory
writable by the service, set in its environment before it starts (prometheus_client chooses how
to store values when first imported). The endpoint then sums the workers' files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_address(environ: Mapping[str, str] = os.environ) -> tuple[str, int] | None:
    """(host, port) of the endpoint, or None when ``METRICS_PORT`` is unset or 0."""
    raw = environ.get("METRICS_PORT", "").strip()
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"METRICS_PORT={raw!r} is not a port number") from None
    if not 0 <= port < 65536:
        raise SystemExit(f"METRICS_PORT={port} is not a port number")
    return (environ.get("METRICS_HOST", "").strip() or "127.0.0.1", port) if port else None


def multiprocess_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    raw = environ.get(MULTIPROC_ENV, "").strip()
    return Path(raw) if raw else None


def clear_multiprocess_dir(environ: Mapping[str, str] = os.environ) -> None:
    """At a service's start, before its workers exist: the files of an earlier run would be summed
    with this one's (prometheus_client's advice). Only its own ``*.db`` files are removed."""
    folder = multiprocess_dir(environ)
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink(missing_ok=True)


def serve_metrics(environ: Mapping[str, str] = os.environ) -> tuple[str, int] | None:
    """Start the endpoint in a thread of this process (the parent of any workers); returns where
    it listens, or None when metrics are off."""
    where = metrics_address(environ)
    if where is None:
        return None
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    registry = REGISTRY
    if multiprocess_dir(environ) is not None:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(where[1], addr=where[0], registry=registry)
    return where
