"""`memory`: does a Rasa process keep memory for every conversation it has served? (issue 21: Rasa's
memory with 10,000 conversations seen <= 1.5 GB per process.)

The stack `make run` starts (bot.launch.runner's Stack: one process of each service, our model) with
production's stores (bot/endpoints.prod.yml): Rasa's conversations in a throw-away PostgreSQL
database (TEST_POSTGRES_URL's server) and its lock store in Redis (REDIS_URL, a prefix of its own),
so that what a process keeps is what a production replica keeps. Billing stays on SQLite: its
memory is not the question here.

CONVERSATIONS (MEMORY_CONVERSATIONS, default 10,000) distinct senders, CONCURRENCY at a time, each of
one to three turns through Rasa's gateway channel: a greeting, a line the assistant does not handle,
or a billing question (balance, invoices, licences: read from billing, slots set), three in four of
them signed in. After a few unmeasured turns (the first turns of a process load TensorFlow's
graphs), the memory of the Rasa process is read from /proc when 0, 10 %, 25 %, 50 %, 75 % and all of
the conversations have been answered:

* memory_rasa_rss_mb_at_<n>: its resident size after n conversations (the figure at 10,000 is the
  one the target is about: <= 1,536 MB);
* memory_rasa_anon_mb_at_<n>, at the first and the last mark: its anonymous memory (heap, the
  libraries' arenas: /proc/<pid>/smaps_rollup), what a second process on the machine would not share.
  (Its private pages were no measure: they grow when another Rasa process on the machine stops, and
  the pages of the libraries both mapped become this one's alone);
* memory_rasa_rss_mb_per_1000: growth per 1,000 conversations after warm-up (least squares over
  the marks from 25 % on): 0 when nothing is kept per conversation;
* memory_actions_rss_mb_at_<n>, memory_billing_rss_mb_at_<n>: the action server's and billing's at
  the first and last marks;
* memory_turns_per_s: how fast the conversations went through (for the record, not a target).

Where the size at start comes from, in a Rasa process of its own (tests/bench/rasa_side.py memory):
memory_rasa_load_mb_imports, the process after Rasa's and its libraries' imports (TensorFlow
among them) with the patches applied; memory_rasa_load_mb_<component>, what loading each component
of the model added (those of LOAD_SHOWN_MB or more); memory_rasa_load_mb_total, all of it loaded.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import time
from pathlib import Path

import httpx

from bot.launch.prod_env import rasa_db_env, redis_env
from bot.launch.prod_stack import PROD_ENDPOINTS
from bot.launch.runner import DEFAULT_GATEWAY_TOKEN, Stack
from tests.throwaway_db import throwaway_postgres

from . import BenchFailed, Figures, benchmark, run_parts
from .databases import DEFAULT_POSTGRES_URL
from .growth import MESSAGES
from .production import REDIS_URL, process_tree
from .rasa_env import RASA_PY, RASA_SIDE, our_model, tmp_dir
from .rasa_env import run as run_rasa

CONVERSATIONS = int(os.environ.get("MEMORY_CONVERSATIONS", "10000"))
CONCURRENCY = int(os.environ.get("MEMORY_CONCURRENCY", "12"))
SHARES = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)  # of CONVERSATIONS: when memory is read
SLOPE_FROM = 0.25  # warm-up: caches that fill once (rule lookups, connection pools) are full by then
TURNS = (1, 2, 1, 3)  # turns of conversation i: TURNS[i % 4], 1.75 on average
OPENERS = ("hi", "hello there", "good morning", "can you recommend a good pizza place?", "what's the weather today?")
IDENTITIES = ("alex@acme.example", None, "alex@acme.example", "alex@acme.example")
TARGET_MB = 1536
WARM_TURNS = 9
LOAD_SHOWN_MB = 5
SEED = 21


def memory_mb(pid: int) -> dict[str, float]:
    """rss and anonymous memory of one process in MB, from /proc/<pid>/smaps_rollup."""
    kb: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            kb[name] = int(rest.split()[0])
    return {"rss": kb["Rss"] / 1024, "anon": kb["Anonymous"] / 1024}


def _largest(root: int) -> int:
    """The process of ``root``'s tree that holds the most memory (the Rasa server itself, not a helper)."""
    return max(process_tree(root), key=lambda pid: memory_mb(pid)["rss"])


def _script(i: int, rng: random.Random) -> tuple[list[str], dict]:
    """Conversation i's messages and metadata: an opener or a billing question first, then billing questions."""
    first = rng.choice(OPENERS) if i % 2 else rng.choice(MESSAGES)
    lines = [first, *(rng.choice(MESSAGES) for _ in range(TURNS[i % len(TURNS)] - 1))]
    email = IDENTITIES[i % len(IDENTITIES)]
    return lines, {"channel": "api", **({"identity": {"email": email}} if email else {})}


def _slope_per_1000(points: list[tuple[int, float]]) -> float:
    """Least-squares MB per 1,000 conversations through (conversations, MB) points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    return 1000 * sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0


class Drive:
    """CONVERSATIONS conversations, CONCURRENCY at a time; ``at_mark(n)`` when the n-th is answered."""

    def __init__(self, stack: Stack, marks: list[int], at_mark) -> None:
        self.url = stack.webhook_url
        self.headers = {"Authorization": f"Bearer {stack.gateway_token or DEFAULT_GATEWAY_TOKEN}"}
        self.marks, self.at_mark = set(marks), at_mark
        self.rng = random.Random(SEED)
        self.scripts = [_script(i, self.rng) for i in range(max(marks))]
        self.next = self.done = self.turns = self.errors = 0
        self.first_error = ""

    async def _conversation(self, http: httpx.AsyncClient, i: int) -> None:
        lines, metadata = self.scripts[i]
        sender = f"memory-{i}-{secrets.token_hex(3)}"
        for line in lines:
            try:
                answer = await http.post(
                    self.url, headers=self.headers, json={"sender": sender, "message": line, "metadata": metadata}
                )
                answer.raise_for_status()
                if not answer.json():
                    raise ValueError(f"no answer to {line!r}")
            except (httpx.HTTPError, ValueError) as exc:
                self.errors += 1
                self.first_error = self.first_error or f"{sender}: {exc}"
            self.turns += 1

    async def _worker(self, http: httpx.AsyncClient) -> None:
        while self.next < len(self.scripts):
            i, self.next = self.next, self.next + 1
            await self._conversation(http, i)
            self.done += 1
            if self.done in self.marks:
                self.at_mark(self.done)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            await asyncio.gather(*(self._worker(http) for _ in range(CONCURRENCY)))


def _conversations() -> Figures:
    marks = [round(CONVERSATIONS * share) for share in SHARES]
    rasa: dict[int, dict[str, float]] = {}
    others: dict[str, dict[int, float]] = {"actions": {}, "billing": {}}
    base = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    with throwaway_postgres(base, "aa_memory") as tracker_url:
        stores = {
            **rasa_db_env(tracker_url),
            **redis_env(REDIS_URL),
            "RASA_LOCK_PREFIX": f"aamemory{secrets.token_hex(4)}",  # Rasa: letters and digits only
        }
        stack = Stack(data_dir=tmp_dir("memory-"), model=our_model(), endpoints=PROD_ENDPOINTS, extra_env=stores)
        with stack, httpx.Client(timeout=60) as http:
            pids = {s.name: s.process.pid for s in stack.services if s.process is not None}
            headers = {"Authorization": f"Bearer {stack.gateway_token or DEFAULT_GATEWAY_TOKEN}"}
            for line in (OPENERS + MESSAGES)[:WARM_TURNS]:
                http.post(
                    stack.webhook_url,
                    headers=headers,
                    json={"sender": "memory-warm", "message": line, "metadata": {}},
                ).raise_for_status()
            started = time.perf_counter()

            def at_mark(n: int) -> None:
                rasa[n] = memory_mb(_largest(pids["rasa"]))
                for name in others:
                    others[name][n] = memory_mb(_largest(pids[name]))["rss"]
                rate = drive.turns / max(time.perf_counter() - started, 1e-9)
                print(
                    f"  {n:>6} conversations: Rasa rss {rasa[n]['rss']:.0f} MB, anonymous {rasa[n]['anon']:.0f} MB "
                    f"({rate:.1f} turns/s, {drive.errors} errors)",
                    flush=True,
                )

            drive = Drive(stack, marks, at_mark)
            at_mark(0)
            asyncio.run(drive.run())
            elapsed = time.perf_counter() - started
    figures: Figures = {f"memory_rasa_rss_mb_at_{n}": round(rasa[n]["rss"], 1) for n in marks}
    for n in (marks[0], marks[-1]):
        figures[f"memory_rasa_anon_mb_at_{n}"] = round(rasa[n]["anon"], 1)
        for name, seen in others.items():
            figures[f"memory_{name}_rss_mb_at_{n}"] = round(seen[n], 1)
    after_warm_up = [(n, rasa[n]["rss"]) for n in marks if n >= CONVERSATIONS * SLOPE_FROM]
    figures["memory_rasa_rss_mb_per_1000"] = round(_slope_per_1000(after_warm_up), 2)
    figures["memory_turns_per_s"] = round(drive.turns / elapsed, 1)
    figures["memory_errors"] = drive.errors
    last = rasa[marks[-1]]["rss"]
    print(f"  Rasa's resident memory after {marks[-1]:,} conversations: {last:.0f} MB (target <= {TARGET_MB})")
    if drive.errors:
        print(f"  {drive.errors} turns failed, the first: {drive.first_error}", flush=True)
    return figures


def _snake(name: str) -> str:
    """SentenceEmbeddingFeaturizer -> sentence_embedding_featurizer, CRFEntityExtractor -> crf_entity_extractor."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _load() -> Figures:
    work = tmp_dir("memory-load-")
    command = [RASA_PY, RASA_SIDE, "memory", our_model(), work / "out.json"]
    # TensorFlow's oneDNN operations on, as in the Rasa server (the bench's Rasa helpers turn them off)
    run_rasa(command, log=work / "load.log", timeout=600, TF_ENABLE_ONEDNN_OPTS="1")
    out = json.loads((work / "out.json").read_text())
    figures: Figures = {"memory_rasa_load_mb_imports": round(out["imports"], 1)}
    for name, mb in sorted(out["nodes"].items(), key=lambda item: -item[1]):
        if mb >= LOAD_SHOWN_MB:
            figures[f"memory_rasa_load_mb_{_snake(name)}"] = round(mb, 1)
    figures["memory_rasa_load_mb_total"] = round(out["loaded"], 1)
    return figures


@benchmark("memory")
def run() -> Figures:
    figures = run_parts({"conversations": _conversations, "model load": _load})
    if figures.get("memory_errors"):
        raise BenchFailed(f"{figures['memory_errors']:.0f} turns failed", figures)
    return figures
