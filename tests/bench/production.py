"""`load`: simulated customers through the production configuration, then the databases checked.

Our stack runs as in production (bot/endpoints.prod.yml): Rasa's SQL tracker store and the
gateways' state on this machine's PostgreSQL, the Redis lock store and fan-out, billing on PostgreSQL (a fresh
database with LOAD_CUSTOMERS clones of Acme, tests/bench/databases.py). LOAD_CUSTOMERS people
(default 50: 70 % admins, 10 % colleagues without Manage Billing, 20 % anonymous visitors) chat
through the gateway's widget WebSocket, mixing the golden conversations (tests/bench/crowd.py).

Two phases, each bounded in time:
* **paced** (LOAD_SECONDS, default 60): people think 1-4 s between messages, as people do;
  figures ``load_turns_per_s``, ``load_turn_ms_p50/p95/p99``, ``load_errors``;
* **saturation** (LOAD_SATURATION_SECONDS, default 30): the same people without thinking, the
  most the stack serves: ``load_saturation_turns_per_s`` and its ``_ms_p95``.
The floor is the stock `rasa init` bot (tests/bench/floor.py) behind the same people and pace,
through its REST channel ("hello" / "I am sad"): ``load_floor_turn_ms_p95``,
``load_floor_turns_per_s`` and ``load_floor_saturation_turns_per_s``; ``load_floor_cpu_ms_per_turn`` is
the stock Rasa process's CPU time per turn of its saturated phase, and ``load_cpu_ratio_to_floor``
ours in all (every process) over it: a machine busy with other work raises both, not their ratio.

Afterwards, checked against what the customers were told: every confirmed order applied exactly
once (each organisation's order count and Enterprise licences), no other order, every emailed
invoice in the outbox, and each conversation's user messages in the PostgreSQL tracker store
exactly once and in order. ``load_cpu_ms_per_turn_<kind>`` is the CPU time each kind of process
(rasa, actions, gateway, balancer, billing) spent per turn of the saturated phase, where a turn's
time goes whatever else the machine is doing. ``load_rss_mb`` is the largest resident size of a Rasa process seen
during the run (sampled every second).

Topology: bot/launch/production.py's ProdStack, as `make run-prod` runs it: LOAD_REPLICAS (default 2) Rasa
servers, action servers and gateways behind HAProxy (bot/launch/haproxy.py), one billing backend.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Order, Payment
from bot.gateway.config import GatewaySettings
from bot.gateway.widget.identity import Jwts, VisitorIds
from bot.launch.production import ProdStack
from bot.nlu.cards import redact
from tests.throwaway_db import throwaway_postgres

from . import BenchFailed, Figures, benchmark
from .crowd import Customer, Ledger, Reply, WrongAnswer, people_for, simulate
from .databases import DEFAULT_POSTGRES_URL, contract_states, prepare
from .floor import RasaServer, floor_model
from .rasa_env import our_model, tmp_dir
from .stats import percentile

CUSTOMERS = int(os.environ.get("LOAD_CUSTOMERS", "50"))
PACED_S = float(os.environ.get("LOAD_SECONDS", "60"))
SATURATION_S = float(os.environ.get("LOAD_SATURATION_SECONDS", "30"))
THINK_S = (1.0, 4.0)
SEED = int(os.environ.get("LOAD_SEED", "7"))
SIGNING_KEY = "bench-widget-signing-key-0123456789"
JWT_SECRET = "bench-widget-jwt-secret-0123456789abcdef"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
REPLICAS = int(os.environ.get("LOAD_REPLICAS", "2"))


def _split(customers: int) -> tuple[int, int, int]:
    colleagues, visitors = customers // 10, customers // 5
    return customers - colleagues - visitors, colleagues, visitors


def process_tree(pid: int) -> list[int]:
    """The process and its living descendants (Rasa's Sanic workers, say)."""
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += process_tree(int(child))
    except OSError:
        pass
    return found


class RssWatch:
    """The largest VmRSS seen of each process under a root pid (Rasa and its Sanic workers)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak_kb = pids, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for root in self.pids:
                for pid in process_tree(root):
                    try:
                        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                            if line.startswith("VmRSS:"):
                                self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                    except OSError:
                        pass

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children, living ones included."""
    total = 0.0
    for one in process_tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            pass
    return total


def cpu_by_kind(services: list) -> dict[str, float]:
    """CPU seconds used so far by each kind of service (rasa-1 and rasa-2 count as rasa)."""
    kinds: dict[str, float] = {}
    for service in services:
        if service.process is not None:
            kind = service.name.split("-")[0]
            kinds[kind] = kinds.get(kind, 0.0) + _cpu_s(service.process.pid)
    return kinds


# ---- the floor --------------------------------------------------------------------------------------


class RestChat:
    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client, self.url, self.sender = client, url, f"floor-{uuid.uuid4().hex[:10]}"

    async def turn(self, text: str, payload: str | None = None) -> Reply:
        answer = await self.client.post(self.url, json={"sender": self.sender, "message": payload or text})
        if answer.status_code != 200 or not answer.json():
            raise WrongAnswer(f"HTTP {answer.status_code}: {answer.text[:200]}")
        return Reply(answer.json())


async def _floor(url: str, people: int, seconds: float, think_s: tuple[float, float]) -> Ledger:
    ledger, deadline = Ledger(), time.monotonic() + seconds
    limits = httpx.Limits(max_connections=people + 2, max_keepalive_connections=people + 2)

    async def one(i: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(SEED * 1000 + i)

        async def think() -> None:
            if think_s[1] > 0:
                await asyncio.sleep(rng.uniform(*think_s))

        await asyncio.sleep(rng.uniform(0, think_s[1]))
        chat = RestChat(client, url)
        customer = Customer(chat, ledger, think, chat.sender)
        try:
            while time.monotonic() < deadline:
                (await customer.say("hello")).expect(r"\w", "a greeting")
                (await customer.say("I am sad")).expect(r"\w", "cheering up")
        except (WrongAnswer, httpx.HTTPError) as exc:
            ledger.errors.append(f"floor: {exc.__class__.__name__}: {exc}")

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(one(i, client) for i in range(people)))
    ledger.wall_s = time.perf_counter() - started
    return ledger


# ---- checks -----------------------------------------------------------------------------------------


def check_billing(
    url: str, ledger: Ledger, admins: list[str], payments_before: int, orders_before: int = 0
) -> list[str]:
    """Each organisation's orders and Enterprise licences are what its admin was told, exactly;
    no other order and no payment since the counts before."""
    problems = []
    for email, state in sorted(contract_states(url, admins).items()):
        if state.orders != ledger.orders[email]:
            problems.append(f"{email}: {state.orders} orders in billing, {ledger.orders[email]} confirmed")
        if state.quantity != 40 + ledger.ordered[email]:
            problems.append(f"{email}: {state.quantity} Enterprise licences, expected 40 + {ledger.ordered[email]}")
    db = Database.connect(url)
    try:
        with db.session() as s:
            total = s.scalar(select(func.count()).select_from(Order))
            paid = s.scalar(select(func.count()).select_from(Payment))
    finally:
        db.dispose()
    if total - orders_before != sum(ledger.orders.values()):
        confirmed = sum(ledger.orders.values())
        problems.append(f"{total - orders_before} new orders in billing, {confirmed} confirmed in all")
    if paid != payments_before:
        problems.append(f"payments changed: {payments_before} -> {paid} (nobody was meant to pay)")
    return problems


def check_trackers(url: str, ledger: Ledger) -> list[str]:
    """Each conversation's user messages in the SQL tracker store: those sent, once, in order."""
    engine = create_engine(url)
    said: dict[str, list[str]] = {}
    try:
        with engine.connect() as conn:
            for sender, data in conn.execute(
                text("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id")
            ):
                said.setdefault(sender, []).append(json.loads(data).get("text") or "")
    finally:
        engine.dispose()
    problems = []
    for sender, sent in ledger.said.items():
        expected = [payload or redact(text)[0] for text, payload in sent]
        stored = said.get(sender, [])
        if len(stored) != len(expected):
            problems.append(f"{sender}: {len(expected)} messages sent, {len(stored)} in the tracker")
        elif [s for s, (_, p) in zip(stored, sent) if p is None] != [
            e for e, (_, p) in zip(expected, sent) if p is None
        ]:
            problems.append(f"{sender}: the tracker's messages differ from those sent, or their order")
    return problems[:10]


def outbox_mails(data: Path) -> int:
    return len(list((data / "outbox").glob("*"))) if (data / "outbox").exists() else 0


# ---- the run ----------------------------------------------------------------------------------------


def _phase_figures(prefix: str, ledger: Ledger, p99: bool = True) -> Figures:
    figures = {
        f"{prefix}turns_per_s": round(ledger.per_s, 2),
        f"{prefix}turn_ms_p50": round(percentile(ledger.ms, 50), 1),
        f"{prefix}turn_ms_p95": round(percentile(ledger.ms, 95), 1),
    }
    if p99:
        figures[f"{prefix}turn_ms_p99"] = round(percentile(ledger.ms, 99), 1)
    return figures


def _report(label: str, ledger: Ledger) -> None:
    print(
        f"  {label}: {len(ledger.ms)} turns in {ledger.wall_s:.0f} s = {ledger.per_s:.1f}/s, p50 "
        f"{percentile(ledger.ms, 50):.0f} ms, p95 {percentile(ledger.ms, 95):.0f} ms, "
        f'{len(ledger.errors)} errors, {ledger.clarified} "did you mean" confirmed; '
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for error in list(dict.fromkeys(ledger.errors))[:3]:
        print(f"    {error[:300]}", flush=True)


@benchmark("load")
def run() -> Figures:
    model, data = our_model(), tmp_dir("load-")
    admins_n, colleagues_n, visitors_n = _split(CUSTOMERS)
    base = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    figures: Figures = {}
    problems: list[str] = []
    with ExitStack() as stack_of:
        billing_url = stack_of.enter_context(throwaway_postgres(base, "aa_load"))
        tracker_url = stack_of.enter_context(throwaway_postgres(base, "aa_load_tracker"))
        gateway_url = stack_of.enter_context(throwaway_postgres(base, "aa_load_gateway"))
        admins = prepare(billing_url, admins_n)
        colleagues = [a.replace("alex@", "sam@") for a in admins[:colleagues_n]]
        env = {
            "WIDGET_SIGNING_KEY": SIGNING_KEY,
            "WIDGET_JWT_SECRET": JWT_SECRET,
            # every simulated person connects from 127.0.0.1: the per-address limits would
            # otherwise see one abusive visitor (in production they come from many addresses);
            # and without thinking a person sends faster than the per-visitor guard allows
            "WIDGET_RATE_PER_IP": "100000",
            "WIDGET_CONNECTS_PER_IP": "100000",
            "WIDGET_RATE_PER_VISITOR": "100000",
        }
        jwts = Jwts(GatewaySettings(widget_jwt_secret=JWT_SECRET))
        ids = VisitorIds(SIGNING_KEY)
        people = people_for(admins, colleagues, visitors_n, jwts.mint)
        with ProdStack(
            data_dir=data,
            billing_db=billing_url,
            tracker_db=tracker_url,
            gateway_db=gateway_url,
            redis_url=REDIS_URL,
            prefix=f"aa-load-{uuid.uuid4().hex[:8]}",
            replicas=REPLICAS,
            model=model,
            extra_env=env,
        ) as stack:
            db = Database.connect(billing_url)
            with db.session() as s:
                payments_before = s.scalar(select(func.count()).select_from(Payment))
            db.dispose()
            print(
                f"  {REPLICAS} replicas of Rasa, actions and gateway behind the balancer; "
                f"{len(people)} people ({admins_n} admins, {colleagues_n} colleagues, {visitors_n} visitors) "
                f"through {stack.gateway_url}/widget/ws",
                flush=True,
            )
            # Unmeasured: each replica's first turns load TensorFlow's graphs and open connections.
            warm = Ledger()
            asyncio.run(
                simulate(
                    stack.gateway_url,
                    people[: 2 * REPLICAS] + people[-REPLICAS:],
                    seconds=10,
                    think_s=(0.0, 0.0),
                    seed=SEED - 1,
                    ledger=warm,
                    sender_of=ids.user_sender,
                )
            )
            ledger, saturated = Ledger(), Ledger()
            with RssWatch([s.process.pid for s in stack.services if s.name.startswith("rasa-")]) as rss:
                asyncio.run(
                    simulate(
                        stack.gateway_url,
                        people,
                        seconds=PACED_S,
                        think_s=THINK_S,
                        seed=SEED,
                        ledger=ledger,
                        sender_of=ids.user_sender,
                    )
                )
                _report("paced", ledger)
                cpu_before = cpu_by_kind(stack.services)
                asyncio.run(
                    simulate(
                        stack.gateway_url,
                        people,
                        seconds=SATURATION_S,
                        think_s=(0.0, 0.0),
                        seed=SEED + 1,
                        ledger=saturated,
                        sender_of=ids.user_sender,
                    )
                )
                _report("saturation", saturated)
                cpu_after = cpu_by_kind(stack.services)
            # Where a turn's time goes: CPU milliseconds per saturated turn, by kind of process.
            turns = max(len(saturated.ms), 1)
            cpu = {k: (cpu_after[k] - cpu_before.get(k, 0.0)) * 1000 / turns for k in cpu_after}
            figures.update({f"load_cpu_ms_per_turn_{k}": round(v, 1) for k, v in sorted(cpu.items())})
            by_cost = sorted(cpu.items(), key=lambda kv: -kv[1])
            ceiling = (os.cpu_count() or 1) * 1000 / max(sum(cpu.values()), 1e-9)
            print(
                "  CPU a saturated turn: "
                + ", ".join(f"{k} {v:.1f} ms" for k, v in by_cost)
                + f"; {sum(cpu.values()):.1f} ms in all, so {os.cpu_count()} cores serve at most "
                f"{ceiling:.0f} turns/s (PostgreSQL and Redis not counted)",
                flush=True,
            )
            figures.update(_phase_figures("load_", ledger))
            figures["load_errors"] = len(warm.errors) + len(ledger.errors) + len(saturated.errors)
            figures.update(
                {
                    "load_saturation_turns_per_s": round(saturated.per_s, 2),
                    "load_saturation_turn_ms_p95": round(percentile(saturated.ms, 95), 1),
                    "load_rss_mb": round(rss.peak_kb / 1024, 1),
                }
            )
            both = Ledger(
                orders=warm.orders + ledger.orders + saturated.orders,
                ordered=warm.ordered + ledger.ordered + saturated.ordered,
                emailed=warm.emailed + ledger.emailed + saturated.emailed,
            )
            for phase in (warm, ledger, saturated):
                for sender, sent in phase.said.items():
                    both.said[sender] += sent
            problems += check_billing(billing_url, both, admins, payments_before)
            problems += check_trackers(tracker_url, both)
            if (mails := outbox_mails(data)) != both.emailed:
                problems.append(f"{mails} mails in the outbox, {both.emailed} confirmed")
            print(
                f"  checked: {sum(both.orders.values())} orders ({sum(both.ordered.values())} licences), "
                f"{len(both.said)} conversations, {mails} mails; {len(problems)} problems",
                flush=True,
            )
    project, floor = floor_model()
    with RasaServer(project, floor, tmp_dir("load-floor-") / "rasa.log") as server:
        url = f"{server.url}/webhooks/rest/webhook"
        paced = asyncio.run(_floor(url, len(people), PACED_S, THINK_S))
        _report("floor paced", paced)
        assert server.service.process is not None
        floor_cpu_before = _cpu_s(server.service.process.pid)
        saturated_floor = asyncio.run(_floor(url, len(people), SATURATION_S, (0.0, 0.0)))
        floor_cpu_ms = (_cpu_s(server.service.process.pid) - floor_cpu_before) * 1000 / max(len(saturated_floor.ms), 1)
        _report("floor saturation", saturated_floor)
    figures.update(_phase_figures("load_floor_", paced, p99=False))
    figures["load_floor_saturation_turns_per_s"] = round(saturated_floor.per_s, 2)
    # The stock bot's CPU a turn, measured the same way in the same run, is this machine's yardstick:
    # on a host slower for concurrent work both grow, and their ratio stays.
    figures["load_floor_cpu_ms_per_turn"] = round(floor_cpu_ms, 1)
    ours_ms = sum(cpu.values())
    if floor_cpu_ms > 0 and ours_ms:
        figures["load_cpu_ratio_to_floor"] = round(ours_ms / floor_cpu_ms, 2)
        print(
            f"  CPU a saturated turn: the stock bot {floor_cpu_ms:.1f} ms, ours {ours_ms:.1f} ms in all "
            f"({ours_ms / floor_cpu_ms:.2f}x)",
            flush=True,
        )
    if errors := warm.errors + ledger.errors + saturated.errors:
        problems.append(f"{len(errors)} customers met an error (first: {errors[0]})")
    if problems:
        raise BenchFailed("; ".join(problems[:12]), figures)
    return figures
