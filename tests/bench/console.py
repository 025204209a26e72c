"""The staff console's data layer (bot/console/data) at issue 22's size: CONVERSATIONS conversations in
a PostgreSQL tracker store, then the pages' queries. Target: each query p95 <= 300 ms.

* Data: conversations over the last DAYS days written straight into Rasa's ``events`` table with COPY
  (the tracker format as Rasa writes it: session start, then 2 to 3 turns of user, featurization,
  action, bot, action_listen: 14 to 19 events each), a mix of channels (widget, Slack, other),
  intents, fallbacks and "did you mean" declined, completed tasks and orders; the gateway's ratings
  and handoffs for some; customers of ORGS organisations that billing (its real API on loopback,
  with the console's token) knows.
* console_index_s: the indexer's time for all of it (``Indexer.run_all``, batches of 5000);
* console_<query>_ms_p50 / _p95 over REPEAT calls each: the overview of 30 days for all channels, a
  search by customer, by intent and by organisation, a transcript, and the first row of the
  conversations export (a download starts when its first row is ready; the rest streams);
* console_export_rows_per_s: how fast the first 10,000 rows of that export stream (the median run);
* console_page_<page>_ms_p50 / _p95: the console's pages themselves, signed in, through the whole
  app (session, query, template): the overview, two searches, a transcript, the review inbox.
"""

from __future__ import annotations

import io
import json
import os
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import create_engine, insert

from bot.billing.adapters.db import Database, normalise_url
from bot.billing.api.app import create_app
from bot.billing.config import get_settings
from bot.console.data.api import Filters, Period
from bot.console.data.billing import ConsoleBilling
from bot.console.data.index import Indexer
from bot.console.data.queries import Queries
from bot.gateway.handoff.store import handoffs
from bot.gateway.ratings import ratings
from bot.privacy.gateway_rows import gateway_stores
from tests.conftest import LiveServer
from tests.privacy.rows import rasa_metadata

from . import BenchFailed, Figures, benchmark
from .databases import postgres_database, prepare
from .stats import percentile

CONVERSATIONS = int(os.environ.get("CONSOLE_BENCH_CONVERSATIONS", "100000"))  # fewer: a quick look
DAYS = 90
ORGS = 20
CUSTOMERS_PER_ORG = 5
REPEAT = 20
TARGET_MS = 300.0
SEED = 22
TOKEN = "bench-console-token-0123456789abcdef"
META = {"model_id": "m1", "assistant_id": "account-assistant"}
# (text, intent, confidence, action, reply, task)
TURNS = [
    ("add 5 licenses", "add_licenses", 0.99, "action_quote_licenses", "Quote Q-5001. Shall I place the order?", None),
    ("yes", "affirm", 0.99, "action_confirm", "Done: order ORD-{n} is placed.", "order_placed"),
    ("send me last invoice", "get_invoice", 0.97, "action_get_invoice", "INV-1047, issued Dec 6...", None),
    ("email it to ap@acme.example", "share_invoice", 0.95, "action_share_invoice", "Sent INV-1047.", "invoice_sent"),
    ("pay my open invoice", "pay_invoice", 0.92, "action_pay", "Pay INV-1041 with the Visa?", None),
    ("how much is Enterprise for 40 users?", "ask_pricing", 0.9, "action_pricing", "$6,600.00 a month.", None),
    ("hello", "greet", 0.99, "action_greet", "Hi! How can I help?", None),
    ("what's the weather", "out_of_scope", 0.97, "action_out_of_scope", "That's outside what I can do.", None),
    ("the thing with money", "nlu_fallback", 0.2, "action_fallback", "Did you mean to pay an invoice?", None),
    ("can I talk to someone", "talk_to_human", 0.96, "action_handoff", "I've asked our team.", None),
    ("what was on that", "get_invoice", 0.45, "action_get_invoice", "INV-1047...", None),
]


def _row(
    sender: str, kind: str, ts: float, data: dict[str, Any], intent: str | None = None, action: str | None = None
) -> str:
    body = json.dumps({"event": kind, "timestamp": ts, **data, "metadata": {**META, **data.get("metadata", {})}})
    cells = [sender, kind, repr(ts), intent or "\\N", action or "\\N", body.replace("\\", "\\\\").replace("\t", "\\t")]
    return "\t".join(cells) + "\n"


def _conversation(rng: random.Random, i: int, start: float, emails: list[str]) -> tuple[list[str], dict[str, Any]]:
    channel = rng.choices(["widget", "slack", "other"], [6, 3, 1])[0]
    email = rng.choice(emails) if rng.random() < 0.7 else None
    sender = f"slack:T1:U{i:06d}" if channel == "slack" else f"w{'u' if email else 'v'}-{i:06d}"
    meta = {"channel": channel, **({"identity": {"email": email}} if email else {})}
    ts = start
    rows = [
        _row(
            sender, "slot", ts, {"name": "session_started_metadata", "value": meta}, action="session_started_metadata"
        ),
        _row(sender, "action", ts, {"name": "action_session_start"}, action="action_session_start"),
        _row(sender, "session_started", ts, {}),
        _row(sender, "action", ts, {"name": "action_listen"}, action="action_listen"),
    ]
    plan = [rng.randrange(len(TURNS)) for _ in range(rng.choice((2, 3)))]
    if rng.random() < 0.25:
        plan[:2] = [0, 1]  # an order
    facts: dict[str, Any] = {"sender": sender, "channel": channel, "email": email, "at": ts, "handoff": 9 in plan}
    for k in plan:
        text, intent, confidence, action, reply, task = TURNS[k]
        ts += rng.uniform(3, 40)
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
        rows.append(_row(sender, "user", ts, {"text": text, "parse_data": parse, "metadata": meta}, intent=intent))
        rows.append(_row(sender, "user_featurization", ts, {"use_text_for_featurization": False}))
        rows.append(_row(sender, "action", ts + 0.1, {"name": action}, action=action))
        data = {"buttons": None, "custom": {"task_done": task} if task else None}
        rows.append(_row(sender, "bot", ts + 0.2, {"text": reply.format(n=10000 + i), "data": data}))
        rows.append(_row(sender, "action", ts + 0.3, {"name": "action_listen"}, action="action_listen"))
        facts["task"] = task or facts.get("task")
    facts["last"] = ts
    return rows, facts


def _write(url: str, emails: list[str]) -> tuple[int, float]:
    """The tracker's events by COPY and the gateway's rows; the events written and the seconds."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    engine = create_engine(normalise_url(url))
    rasa_metadata.create_all(engine)
    gateway_stores(engine)
    now = time.time()
    gateway_ratings: list[dict[str, Any]] = []
    gateway_handoffs: list[dict[str, Any]] = []
    written = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer = io.StringIO()
        for i in range(CONVERSATIONS):
            rows, facts = _conversation(rng, i, now - rng.uniform(60, DAYS * 86400), emails)
            buffer.writelines(rows)
            written += len(rows)
            last = datetime.fromtimestamp(facts["last"], timezone.utc)
            if facts.get("task") and rng.random() < 0.4:
                state = rng.choices(["helpful", "not_helpful", "dismissed"], [6, 2, 2])[0]
                answered = last + timedelta(seconds=9)
                gateway_ratings.append(
                    {"id": f"r{i}", "conversation": facts["sender"], "channel": facts["channel"], "task": facts["task"],
                     "customer": facts["email"], "state": state, "offered_at": last, "answered_at": answered}
                )  # fmt: skip
            if facts["handoff"]:
                status = rng.choice(["open", "claimed", "closed"])
                claimed = last + timedelta(minutes=2) if status != "open" else None
                closed = last + timedelta(minutes=9) if status == "closed" else None
                gateway_handoffs.append(
                    {"number": f"HO-{i}", "queue": "support", "sender": facts["sender"], "status": status,
                     "created_at": last, "claimed_at": claimed, "closed_at": closed}
                )  # fmt: skip
            if i % 5000 == 4999:
                _copy(cursor, buffer)
                buffer = io.StringIO()
        _copy(cursor, buffer)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(insert(ratings), gateway_ratings)
        conn.execute(insert(handoffs), gateway_handoffs)
    engine.dispose()
    return written, time.perf_counter() - started


def _copy(cursor: Any, buffer: io.StringIO) -> None:
    with cursor.copy(
        "COPY events (sender_id, type_name, timestamp, intent_name, action_name, data) FROM STDIN"
    ) as copy:
        copy.write(buffer.getvalue())


def _pages(url: str, sender: str) -> Figures:
    """The console's own pages over this index, as a signed-in admin's browser asks for them: the
    whole request through the app (session check, query, template), in process."""
    import secrets
    from urllib.parse import quote

    from starlette.testclient import TestClient

    from bot.console.app import Console, create_app
    from bot.console.config import ConsoleSettings

    token = secrets.token_urlsafe(16)
    settings = ConsoleSettings(
        console_database_url=url,
        rasa_tracker_url=url,
        gateway_database_url=url,
        console_index_interval_s=0,
        billing_console_token=TOKEN,
    )
    pages = {
        "page_overview": "/console/",
        "page_search_customer": "/console/conversations?customer=alex%40bench07",
        "page_search_intent": "/console/conversations?intent=pay_invoice",
        "page_transcript": f"/console/conversations/{quote(sender, safe='')}",
        "page_review": "/console/review",
    }
    figures: Figures = {}
    with TestClient(create_app(Console.from_settings(settings, dev_token=token))) as browser:
        signed = browser.get(f"/console/signin/dev/{token}", follow_redirects=False)
        if signed.status_code != 303:
            raise BenchFailed(f"the development sign-in failed: {signed.status_code}")
        for name, path in pages.items():

            def get(path: str = path) -> None:
                answer = browser.get(path, follow_redirects=False)
                if answer.status_code != 200:
                    raise BenchFailed(f"{path}: {answer.status_code}")

            samples = _timed(get)
            figures[f"console_{name}_ms_p50"] = round(percentile(samples, 50), 1)
            figures[f"console_{name}_ms_p95"] = round(percentile(samples, 95), 1)
    return figures


def _timed(call: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


@benchmark("console")
def run() -> Figures:
    with postgres_database() as billing_url, postgres_database() as url:
        emails = [e.replace("alex@", f"user{k}@") for e in prepare(billing_url, ORGS) for k in range(CUSTOMERS_PER_ORG)]
        emails = [e.replace("user0@", "alex@") for e in emails]  # the seeded admin of each org; the others unknown
        written, write_s = _write(url, emails)
        print(f"  {CONVERSATIONS:,} conversations, {written:,} events written in {write_s:.1f} s", flush=True)
        settings = get_settings()
        before, settings.billing_console_token = settings.billing_console_token, TOKEN
        try:
            app = create_app(Database.connect(billing_url))
        finally:
            settings.billing_console_token = before
        engine = create_engine(normalise_url(url), pool_size=5)
        try:
            with LiveServer(app) as server:
                billing = ConsoleBilling(server.url, TOKEN)
                started = time.perf_counter()
                read = Indexer(engine, engine, engine, billing).run_all()
                index_s = time.perf_counter() - started
                billing.close()
            print(f"  indexed {read:,} events in {index_s:.1f} s", flush=True)
            q = Queries(engine)
            today = date.today()
            month = Period(today - timedelta(days=29), today)
            some = q.search(Filters(), 0, 1).rows[0].sender
            calls: dict[str, Callable[[], object]] = {
                "overview": lambda: q.overview(month),
                "search_customer": lambda: q.search(Filters(customer="alex@bench07")),
                "search_intent": lambda: q.search(Filters(intent="pay_invoice", period=month)),
                "search_org": lambda: q.search(Filters(org="Bench Customer 07")),
                "transcript": lambda: q.transcript(some),
                # a download: what the browser waits for is its first row; the rest streams
                "export_first_row": lambda: next(iter(q.export("conversations", Filters()))),
            }
            figures: Figures = {
                "console_conversations": CONVERSATIONS,
                "console_events": written,
                "console_index_s": round(index_s, 1),
            }
            for name, call in calls.items():
                samples = _timed(call)
                figures[f"console_{name}_ms_p50"] = round(percentile(samples, 50), 1)
                figures[f"console_{name}_ms_p95"] = round(percentile(samples, 95), 1)
            figures.update(_pages(url, some))
            streamed = _timed(
                lambda: sum(1 for _, _ in zip(range(10_000), q.export("conversations", Filters()), strict=False))
            )
            figures["console_export_rows_per_s"] = round(10_000 / (percentile(streamed, 50) / 1000))
            overview = q.overview(month)
            print(
                f"  30 days: {overview.conversations:,} conversations, {overview.contained:,} contained",
                flush=True,
            )
        finally:
            engine.dispose()
    slow = [k for k, v in figures.items() if k.endswith("_ms_p95") and v > TARGET_MS]
    if slow:
        raise BenchFailed(f"over {TARGET_MS:.0f} ms at p95: {', '.join(slow)}", figures)
    return figures
