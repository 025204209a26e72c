"""`growth`: does a turn cost more as its conversation session grows? (issue 21: CPU per turn at the
5th, 50th and 500th message of one session, each at most 1.25x the first.)

The stack `make run` starts (SQLite tracker store, one process of each service), one signed-in
customer, one Rasa session of TURNS messages sent one after another through Rasa's gateway channel
(balance, latest invoice, list of invoices, licences: questions that read billing and set slots).
The CPU of each service's process tree is read from /proc around WINDOW turns at the 5th, 50th and
500th message (centred on the mark where the session allows: the first WINDOW turns for the 5th,
the last WINDOW for the 500th):

* growth_cpu_ms_<service>_at_<n>: CPU milliseconds a turn there (rasa, actions, billing);
* growth_<service>_ratio_500: a service's at the 500th over its at the 5th (target <= 1.25 each);
* growth_all_ratio_500: the three services' together, the same way;
* growth_turn_ms_at_<n>: the median wall time of those turns.
"""

from __future__ import annotations

import time

import httpx

from bot.launch.runner import DEFAULT_GATEWAY_TOKEN, Stack

from . import BenchFailed, Figures, benchmark
from .production import cpu_by_kind
from .rasa_env import our_model, tmp_dir
from .stats import percentile

TURNS = 500
WINDOW = 30  # turns measured around each mark: 10 ms CPU ticks make a third of a millisecond a turn
MARKS = (5, 50, 500)
MESSAGES = ("what's my balance?", "show me my latest invoice", "list my invoices", "how many licenses do we have?")
TARGET = 1.25


def _window(mark: int) -> range:
    start = min(max(1, mark - WINDOW // 2), TURNS - WINDOW + 1)
    return range(start, start + WINDOW)


@benchmark("growth")
def run() -> Figures:
    windows = {mark: _window(mark) for mark in MARKS}
    first = {w.start: mark for mark, w in windows.items()}
    last = {w.stop - 1: mark for mark, w in windows.items()}
    cpu: dict[int, dict[str, float]] = {}
    wall: dict[int, list[float]] = {mark: [] for mark in MARKS}
    with Stack(data_dir=tmp_dir("growth-"), model=our_model()) as stack, httpx.Client(timeout=60) as http:
        token = stack.gateway_token or DEFAULT_GATEWAY_TOKEN
        services = [s for s in stack.services if s.name in ("rasa", "actions", "billing")]
        metadata = {"identity": {"email": "alex@acme.example"}, "channel": "api"}
        for turn in range(WINDOW):  # warm: the first turns of a process load and connect
            http.post(
                stack.webhook_url,
                headers={"Authorization": f"Bearer {token}"},
                json={"sender": "growth-warm", "message": MESSAGES[turn % len(MESSAGES)], "metadata": metadata},
            ).raise_for_status()
        before: dict[str, float] = {}
        for turn in range(1, TURNS + 1):
            if turn in first:
                before = cpu_by_kind(services)
            started = time.perf_counter()
            answer = http.post(
                stack.webhook_url,
                headers={"Authorization": f"Bearer {token}"},
                json={"sender": "growth-1", "message": MESSAGES[turn % len(MESSAGES)], "metadata": metadata},
            )
            answer.raise_for_status()
            if not answer.json():
                raise BenchFailed(f"turn {turn} got no answer")
            for mark, span in windows.items():
                if turn in span:
                    wall[mark].append((time.perf_counter() - started) * 1000)
            if turn in last:
                after = cpu_by_kind(services)
                cpu[last[turn]] = {k: (after[k] - before[k]) * 1000 / WINDOW for k in after}
    figures: Figures = {}
    for mark in MARKS:
        for kind, ms in sorted(cpu[mark].items()):
            figures[f"growth_cpu_ms_{kind}_at_{mark}"] = round(ms, 1)
        figures[f"growth_turn_ms_at_{mark}"] = round(percentile(wall[mark], 50), 1)
    first_cpu, last_cpu = cpu[MARKS[0]], cpu[MARKS[-1]]
    for kind in sorted(first_cpu):
        ratio = last_cpu[kind] / max(first_cpu[kind], 1e-9)
        figures[f"growth_{kind}_ratio_500"] = round(ratio, 2)
        print(f"  {kind}: CPU a turn at the 500th message is {ratio:.2f}x the 5th's (target {TARGET})", flush=True)
    ratio = sum(last_cpu.values()) / max(sum(first_cpu.values()), 1e-9)
    figures["growth_all_ratio_500"] = round(ratio, 2)
    print(f"  all three: {ratio:.2f}x", flush=True)
    return figures
