"""`scale`: does billing cost more as its database grows? (issue 21: CPU per turn with the billing
database holding 10, 10,000 and 100,000 organisations, each at most 1.25x the smallest case.)

One PostgreSQL database (a throw-away ``aa_scale_*`` next to TEST_POSTGRES_URL) grows in three
steps: the demo seed, then copies of its two organisations with their users, contract, lines,
invoices, payments, quotes, orders and audit entries (tests/bench/scale_data.py, COPY) up to SIZES
organisations, then VACUUM ANALYZE. At each size the real backend (`python -m bot.billing`) is
started afresh and, after a warm-up, one client acts for users of organisations nobody has
acted for yet (spread over the ids just added), ROUNDS times the requests a realistic turn makes:

    GET /v1/me, GET /v1/balance, GET /v1/invoices?limit=1 (the latest), GET /v1/invoices,
    GET /v1/contracts (licences), POST /v1/quotes/add-licenses, POST /v1/orders,
    POST /v1/invoices/<latest>/download-link and GET the PDF, POST /v1/invoices/<latest>/share

* scale_billing_cpu_ms_at_<n>: the backend's CPU milliseconds for one such mix (/proc, the median
  of BLOCKS blocks of the rounds);
* scale_billing_ratio_100000: that at 100,000 over that at 10 (target <= 1.25);
* scale_postgres_cpu_ms_at_<n>: the CPU of the PostgreSQL backends serving the database in the
  same mix (the server is on this machine), and scale_with_postgres_ratio_100000 the ratio of the
  two together: a query that reads every organisation costs PostgreSQL, not the backend;
* scale_mix_ms_p50_at_<n>: one mix's wall time, and scale_<request>_ms_p50_at_<n> per request;
* scale_seq_scans_100000: queries of the mix whose plan (EXPLAIN ANALYZE at 100,000, the same
  mix in-process with every statement recorded) reads a table of over SEQ_SCAN_ROWS rows
  sequentially; each is printed with its plan.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.billing.adapters.db import Database
from bot.billing.api.app import create_app

from . import BenchFailed, Figures, benchmark
from .databases import postgres_database, prepare
from .production import _cpu_s as cpu_seconds
from .production import cpu_by_kind
from .scale_data import acting_email, add_copies, place_template_order
from .server import SERVICE_TOKEN, BillingServer
from .stats import percentile

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SCALE_SIZES", "10,10000,100000").split(","))
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "60"))
BLOCKS = 4
WARM_ROUNDS = 5
ACTING = 4  # organisations acted for at each size
SEQ_SCAN_ROWS = 1000
TARGET = 1.25
DEMO_ORGS = 2
REQUESTS = ("me", "balance", "latest", "invoices", "contracts", "quote", "order", "pdf", "share")

Call = Callable[..., Any]


def mix(call: Call) -> dict[str, float]:
    """One turn's requests through ``call(method, path, **kw) -> response``; wall ms per request."""
    ms: dict[str, float] = {}

    def timed(name: str, method: str, path: str, **kw: Any) -> Any:
        started = time.perf_counter()
        response = call(method, path, **kw)
        ms[name] = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise BenchFailed(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response

    timed("me", "GET", "/v1/me")
    timed("balance", "GET", "/v1/balance")
    latest = timed("latest", "GET", "/v1/invoices", params={"limit": 1}).json()[0]["number"]
    timed("invoices", "GET", "/v1/invoices")
    timed("contracts", "GET", "/v1/contracts")
    quote = timed("quote", "POST", "/v1/quotes/add-licenses", json={"quantity": 1, "product": "enterprise"}).json()
    timed(
        "order",
        "POST",
        "/v1/orders",
        json={"quote": quote["number"]},
        headers={"Idempotency-Key": quote["idempotency_key"]},
    )
    link = timed("pdf_link", "POST", f"/v1/invoices/{latest}/download-link").json()["url"]
    timed("pdf", "GET", httpx.URL(link).raw_path.decode())
    ms["pdf"] += ms.pop("pdf_link")
    timed("share", "POST", f"/v1/invoices/{latest}/share", json={"to": ["ap@scale.example"], "note": "for the books"})
    return ms


def _headers(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-User": email, "X-Channel": "api"}


def _acting(first: int, last: int) -> list[str]:
    """ACTING admins of Acme copies spread over copies first..last (even indexes are Acme's)."""
    step = max((last - first) // ACTING, 1)
    picks = [first + i * step for i in range(ACTING)]
    return [acting_email(p - p % 2) for p in picks]


class PostgresCpu:
    """CPU seconds so far of the PostgreSQL backends serving ``url``'s database (the server runs on
    this machine: its processes are in /proc), not counting this watcher's own connection."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        self.conn.autocommit = True

    def read(self) -> dict[int, float]:
        pids = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {pid: cpu_seconds(pid) for (pid,) in pids}

    def close(self) -> None:
        self.conn.close()


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _measure(url: str, tmp: Path, emails: list[str], size: int) -> Figures:
    (tmp / f"at{size}").mkdir()
    with BillingServer(url, tmp / f"at{size}") as server:
        clients = {e: httpx.Client(base_url=server.url, headers=_headers(e), timeout=30) for e in emails}

        def run(rounds: int, offset: int) -> list[dict[str, float]]:
            return [mix(clients[emails[(offset + r) % len(emails)]].request) for r in range(rounds)]

        run(WARM_ROUNDS, 0)
        per_block, pg_block, samples = [], [], []
        postgres = PostgresCpu(url)
        for block in range(BLOCKS):
            before, pg_before = cpu_by_kind([server.service])["billing"], postgres.read()
            samples += run(ROUNDS // BLOCKS, block)
            per_block.append((cpu_by_kind([server.service])["billing"] - before) * 1000 / (ROUNDS // BLOCKS))
            pg_block.append(_spent(pg_before, postgres.read()) * 1000 / (ROUNDS // BLOCKS))
        postgres.close()
        for client in clients.values():
            client.close()
        if server.tracebacks():
            raise BenchFailed(f"tracebacks in the server log at {size}:\n{server.tail()}")
    cpu, pg = statistics.median(per_block), statistics.median(pg_block)
    print(
        f"  {size} orgs: billing CPU {cpu:.1f} ms a mix (blocks {', '.join(f'{b:.1f}' for b in per_block)}), "
        f"PostgreSQL {pg:.1f} ms",
        flush=True,
    )
    figures = {
        f"scale_billing_cpu_ms_at_{size}": round(cpu, 1),
        f"scale_postgres_cpu_ms_at_{size}": round(pg, 1),
        f"scale_mix_ms_p50_at_{size}": round(percentile([sum(s.values()) for s in samples], 50), 1),
    }
    for name in REQUESTS:
        figures[f"scale_{name}_ms_p50_at_{size}"] = round(percentile([s[name] for s in samples], 50), 1)
    return figures


def _scans(plan: dict[str, Any]) -> list[tuple[str, float]]:
    """(table, rows read) of every sequential scan in a plan."""
    found = []
    if plan.get("Node Type") == "Seq Scan":
        rows = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        found.append((plan["Relation Name"], rows * plan.get("Actual Loops", 1)))
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def explain(url: str, email: str) -> int:
    """The mix in-process with every SELECT recorded, then EXPLAIN ANALYZE of each: print the
    plans that scan a big table; return how many do."""
    db = Database.connect(url)
    seen: dict[str, Any] = {}

    @event.listens_for(db.writer, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.setdefault(statement, parameters)

    try:
        with TestClient(create_app(db), headers=_headers(email)) as client:

            def call(method: str, path: str, **kw: Any) -> Any:
                if path.endswith("/share"):  # the same reads as GET /v1/invoices/<n>; no mail from here
                    return client.request("GET", path.removesuffix("/share"))
                return client.request(method, path, **kw)

            mix(call)
        event.remove(db.writer, "before_cursor_execute", record)
        scanning = 0
        with db.writer.connect() as conn:
            for statement, parameters in seen.items():
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
                big = [(t, n) for t, n in _scans(plan[0]["Plan"]) if n > SEQ_SCAN_ROWS]
                if big:
                    scanning += 1
                    lines = conn.exec_driver_sql(f"EXPLAIN ANALYZE {statement}", parameters).scalars().all()
                    print(f"  sequential scan of {big}:\n    {' '.join(statement.split())[:400]}")
                    print("\n".join(f"      {line}" for line in lines))
        print(f"  {len(seen)} distinct SELECTs in the mix, {scanning} scan a table of over {SEQ_SCAN_ROWS} rows")
        return scanning
    finally:
        db.dispose()


@benchmark("scale")
def run() -> Figures:
    figures: Figures = {}
    tmp = Path(tempfile.mkdtemp(prefix="aa-bench-scale-"))
    try:
        with postgres_database() as url:
            prepare(url, 0)
            db = Database.connect(url)
            try:
                place_template_order(db)
                have = DEMO_ORGS
                for size in SIZES:
                    started = time.perf_counter()
                    add_copies(db, url, have - DEMO_ORGS, size - have)
                    print(f"  filled {size} organisations in {time.perf_counter() - started:.1f} s", flush=True)
                    emails = _acting(have - DEMO_ORGS, size - DEMO_ORGS - 1)
                    have = size
                    figures.update(_measure(url, tmp, emails, size))
                figures[f"scale_seq_scans_{SIZES[-1]}"] = explain(url, _acting(0, SIZES[-1] - DEMO_ORGS - 1)[-1])
            finally:
                db.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = figures[f"scale_billing_cpu_ms_at_{SIZES[-1]}"] / max(figures[f"scale_billing_cpu_ms_at_{SIZES[0]}"], 1e-9)
    figures[f"scale_billing_ratio_{SIZES[-1]}"] = round(ratio, 3)
    both = [
        figures[f"scale_billing_cpu_ms_at_{n}"] + figures[f"scale_postgres_cpu_ms_at_{n}"]
        for n in (SIZES[0], SIZES[-1])
    ]
    figures[f"scale_with_postgres_ratio_{SIZES[-1]}"] = round(both[1] / max(both[0], 1e-9), 3)
    print(f"  billing's CPU a mix at {SIZES[-1]} organisations is {ratio:.2f}x at {SIZES[0]} (target {TARGET})")
    return figures
