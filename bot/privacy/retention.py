"""The retention job: ``python -m bot.privacy retention`` deletes every conversation idle for longer
than ``RETENTION_DAYS`` from Rasa's tracker store, the gateway's tables and the staff console's index
(``CONSOLE_DATABASE_URL``, when set), and what active ones hold from before that period (stores.py
has the rules),
logs what it did and how long it took, and audits the run (audit.py).

**Where it runs, and why a command.** It is one short-lived process, run on a schedule by the
platform: a Kubernetes CronJob (``concurrencyPolicy: Forbid``) in production, the launcher's loop
under ``make run`` (``--every``). Not a task inside the gateway: the gateway has replicas, which would
need a leader lock to run it once, and a slow delete would share a process with customers' turns; a
command has its own exit status and logs, its own database credentials and timeout, and an operator
can run it by hand. Two runs at once are still harmless (each batch deletes only idle rows, and
deleting what is gone deletes nothing), but on PostgreSQL a session advisory lock on the gateway's
database makes a second run exit at once ("another run holds the lock") instead of doing the work
twice.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.billing.adapters.db import normalise_url
from bot.gateway.config import GatewaySettings, get_settings, tracker_url
from bot.gateway.state import _engine
from bot.telemetry import logs

from .audit import Audit
from .stores import Conversations, Expired

log = logging.getLogger("bot.privacy.retention")
LOCK_ID = 7226150918  # pg_try_advisory_lock's key for this job
ACTOR = "retention-job"


@contextmanager
def _only_run(engine: Engine) -> Iterator[bool]:
    """True when this is the only run (PostgreSQL: an advisory lock held for the run; SQLite: the
    one process of make run, always True)."""
    if engine.dialect.name == "sqlite":
        yield True
        return
    with engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": LOCK_ID}).scalar())
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
            conn.commit()


def run_once(settings: GatewaySettings, *, days: float | None = None, batch: int | None = None) -> Expired | None:
    """One run; None when another run holds the lock."""
    url = tracker_url(settings)
    gateway = _engine(normalise_url(settings.gateway_database_url))
    tracker = _engine(normalise_url(url)) if url else None
    console = _engine(normalise_url(settings.console_database_url)) if settings.console_database_url else None
    try:
        with _only_run(gateway) as alone:
            if not alone:
                log.info("retention: another run holds the lock; nothing done")
                return None
            done = Conversations(gateway, tracker, console).expire(
                settings.retention_days if days is None else days,
                batch=settings.retention_batch if batch is None else batch,
            )
            counts = {**done.rows, **{f"trimmed_{name}": n for name, n in done.trimmed.items()}}
            Audit(gateway).record(ACTOR, "retention", counts, conversations=done.conversations, seconds=done.seconds)
        log.info(
            "retention: %d conversations idle since before %s deleted (%s), %d kept as active elsewhere; "
            "older rows of active conversations trimmed (%s); %.2f s",
            done.conversations,
            done.cutoff.isoformat(timespec="seconds"),
            ", ".join(f"{name} {n}" for name, n in done.rows.items()),
            done.kept_active,
            ", ".join(f"{name} {n}" for name, n in done.trimmed.items()),
            done.seconds,
        )
        return done
    finally:
        gateway.dispose()
        for engine in (tracker, console):
            if engine is not None:
                engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.privacy", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    job = sub.add_parser("retention", help="delete conversations idle for longer than RETENTION_DAYS")
    job.add_argument("--days", type=float, help="override RETENTION_DAYS")
    job.add_argument("--batch", type=int, help="override RETENTION_BATCH")
    job.add_argument("--every", type=float, help="run again every this many seconds (make run's launcher)")
    args = parser.parse_args(argv)
    logs.configure("privacy")
    settings = get_settings()
    if tracker_url(settings) is None:
        log.warning("retention: RASA_TRACKER_URL is not set: Rasa's conversations are not covered")
    while True:
        try:
            run_once(settings, days=args.days, batch=args.batch)
        except ValueError as bad:
            print(f"retention: {bad}", file=sys.stderr)
            return 2
        except Exception:
            log.exception("retention: the run failed; nothing after the failed batch was deleted")
            if args.every is None:
                return 1
        if args.every is None:
            return 0
        time.sleep(args.every)
