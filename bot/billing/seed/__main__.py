"""`python -m bot.billing.seed`: migrate the database at DATABASE_URL and load the demo catalog and
customers into it if it is empty. For trying the production topology (`make run-prod`) on demo
data; production itself never seeds on start (SEED_ON_START is refused there)."""

from __future__ import annotations

from ..adapters.db import Database
from ..clock import clock_from_settings
from ..config import get_settings
from ..migrate import upgrade
from . import is_seeded, seed


def main() -> None:
    settings = get_settings()
    url = settings.database_url
    upgrade(url)
    db = Database.connect(url, clock=clock_from_settings(settings))
    try:
        with db.session(write=True) as s:
            if is_seeded(s):
                print("the billing database already holds data: nothing loaded")
                return
            seed(s)
        print("loaded the demo catalog and customers")
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
