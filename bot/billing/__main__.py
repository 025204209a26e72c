"""`python -m bot.billing`: migrate, seed on first start, serve the API."""
from __future__ import annotations

import logging

import uvicorn

from bot.nlu.cards import redact_logs

from .adapters.db import Database
from .api.app import create_app
from .config import get_settings
from .migrate import upgrade
from .seed import is_seeded, seed


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_logs()
    settings = get_settings()
    upgrade(settings.database_url)
    db = Database.connect(settings.database_url)
    if settings.seed_on_start:
        with db.session(write=True) as s:
            if not is_seeded(s):
                seed(s)
                logging.getLogger("billing").info("seeded the demo catalog and customers")
    base = f"http://{settings.billing_host}:{settings.billing_port}"
    print(f"\n  Billing API:   {base}/v1/catalog\n  OpenAPI docs:  {base}/docs\n", flush=True)
    uvicorn.run(create_app(db), host=settings.billing_host, port=settings.billing_port, log_level="info")


if __name__ == "__main__":
    main()
