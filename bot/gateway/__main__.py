"""`python -m bot.gateway`: serve the gateway (Slack, the widget, the demo page)."""

from __future__ import annotations

import ipaddress
import logging
import os
from urllib.parse import urlsplit

import uvicorn

from bot.nlu.cards import redact_logs
from bot.settings_check import refuse_unsafe
from bot.telemetry import logs
from bot.telemetry.metrics_http import serve_metrics

from .app import create_app
from .config import GatewaySettings, get_settings, tracker_url


def trusted_proxies(value: str | None) -> str | None:
    """``FORWARDED_ALLOW_IPS``: the addresses or networks of the load balancer in front, the only
    peers whose ``X-Forwarded-For`` the gateway believes (the widget's per-address limits key on
    that address). Unset or empty: nobody's, each client is its TCP peer (``make run`` has nothing
    in front). ``*`` is refused: it would let any client that reaches a gateway choose its address.
    Who is set where: ``make run-prod`` HAProxy's own loopback address (bot/launch/production.py), compose
    the balancer's fixed address on the edge network, Kubernetes the Ingress controller's pods."""
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if not items:
        return None
    for item in items:
        if item == "*":
            raise SystemExit(
                "FORWARDED_ALLOW_IPS=* would let any client choose the address the gateway sees "
                "(and dodge its per-address limits): name the load balancer's address or network"
            )
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SystemExit(f"FORWARDED_ALLOW_IPS: {item!r} is not an IP address or network") from None
    return ",".join(items)


def unsafe_settings(settings: GatewaySettings) -> None:
    """In production, stop on development or example secrets and on settings that open the gateway
    to anyone (bot/settings_check.py)."""
    secrets: dict[str, str | None] = {
        "GATEWAY_TOKEN": settings.gateway_token,
        "RASA_API_TOKEN": settings.rasa_api_token,
        "BILLING_GATEWAY_TOKEN": settings.billing_gateway_token,
        "WIDGET_SIGNING_KEY": settings.widget_signing_key,
    }
    if settings.widget_jwt_algorithm.upper().startswith("HS"):
        secrets["WIDGET_JWT_SECRET"] = settings.widget_jwt_secret
    if settings.gateway_redis_url:  # several replicas: Redis needs a password, the fan-out a key
        secrets["GATEWAY_FANOUT_KEY"] = settings.gateway_fanout_key
        secrets["GATEWAY_REDIS_PASSWORD"] = (
            settings.gateway_redis_password or urlsplit(settings.gateway_redis_url).password
        )
    others = []
    if settings.privacy_admin_token:  # the admin API is served: its token must be a real secret
        secrets["PRIVACY_ADMIN_TOKEN"] = settings.privacy_admin_token
        if tracker_url(settings) is None:
            others.append("PRIVACY_ADMIN_TOKEN is set but RASA_TRACKER_URL is not: erasures would miss Rasa's copy")
    if "*" in [o.strip() for o in settings.widget_allowed_origins.split(",")]:
        others.append("WIDGET_ALLOWED_ORIGINS=* lets any website open the widget in its visitors' name")
    refuse_unsafe("gateway", secrets, others)


def main() -> None:
    log_format = logs.configure("gateway")
    proxies = trusted_proxies(os.environ.get("FORWARDED_ALLOW_IPS"))
    redact_logs()
    settings = get_settings()
    unsafe_settings(settings)
    if (where := serve_metrics()) is not None:
        logging.getLogger("bot.gateway").info("metrics on http://%s:%s/metrics", *where)
    uvicorn.run(
        # behind the balancer (trusted proxies), its X-Request-Id is the request's (request_context.py)
        create_app(settings, trust_request_ids=proxies is not None),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="info",
        # JSON: uvicorn's loggers go through the root logger's JSON lines; text: uvicorn's own format
        log_config=None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        proxy_headers=proxies is not None,
        forwarded_allow_ips=proxies or "",
        ws_max_size=64 * 1024,
    )  # widget frames are small; don't buffer 16 MiB ones


if __name__ == "__main__":
    main()
