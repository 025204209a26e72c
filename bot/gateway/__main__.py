"""`python -m bot.gateway`: serve the gateway (Slack, the widget, the demo page)."""
from __future__ import annotations

import logging
import os

import uvicorn

from bot.nlu.cards import redact_logs

from .app import create_app
from .config import get_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_logs()
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                log_level="info", proxy_headers=True,
                # who may say who the client is (X-Forwarded-For): the balancer or proxy in front
                forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
                ws_max_size=64 * 1024)  # widget frames are small; don't buffer 16 MiB ones


if __name__ == "__main__":
    main()
