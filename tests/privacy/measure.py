"""How long one retention run takes with many rows: ``python -m tests.privacy.measure [N]`` writes N
idle conversations (10 tracker events, 4 widget messages and a rating each) and N/10 active ones
into SQLite files and a throw-away PostgreSQL database, runs the job once on each and prints the
time. Not part of make test (it writes hundreds of thousands of rows)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.gateway.ratings import ratings
from bot.gateway.widget.history import messages
from bot.privacy.stores import Conversations
from tests.privacy.rows import databases, events, now


def fill(dbs, n: int) -> None:
    for start in range(0, n + n // 10, 1000):
        ev, msg, rat = [], [], []
        for i in range(start, min(start + 1000, n + n // 10)):
            sender = f"wv-{i:08d}"
            at = now() - (timedelta(days=200) if i < n else timedelta(hours=1))
            for j in range(10):
                ts = at.timestamp() - 100 + j
                ev.append(
                    {"sender_id": sender, "type_name": "user", "timestamp": ts, "data": json.dumps({"text": "hi"})}
                )
            msg += [{"sender": sender, "author": "user", "body": "{}", "at": at} for _ in range(4)]
            rat.append(
                {
                    "id": sender,
                    "conversation": sender,
                    "channel": "widget",
                    "task": "order_placed",
                    "state": "helpful",
                    "offered_at": at,
                }
            )
        with dbs.tracker.begin() as conn:
            conn.execute(insert(events), ev)
        with dbs.gateway.begin() as conn:
            conn.execute(insert(messages), msg)
            conn.execute(insert(ratings), rat)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    for kind in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as tmp:
            gen = databases(kind, Path(tmp))
            dbs = next(gen)
            fill(dbs, n)
            started = time.monotonic()
            done = Conversations(dbs.gateway, dbs.tracker).expire(90, batch=500)
            took = time.monotonic() - started
            rows = sum(done.rows.values())
            print(f"{kind}: {done.conversations} idle conversations ({rows} rows) deleted in {took:.1f} s")
            next(gen, None)


if __name__ == "__main__":
    main()
