"""CPU milliseconds a billing turn costs each service, under 20 conversations at once.

    .venv/app/bin/python scripts/turn_cpu.py [MODEL]

Starts the stack `make run` starts (bot.launch.runner.Stack: billing, actions, Rasa, gateway) on a
temporary folder, warms it up, then three times sends 20 concurrent conversations of 10 turns each
(the turn benchmark's "what's my balance?" / "show me my latest invoice") to Rasa's gateway channel,
and prints turns per second and each service's CPU (its whole process tree, from /proc) per turn.
Where `make bench`'s turn ratio moves with the stock bot's speed, this says whether ours changed:
run it on two commits (a clone each, the same model) and compare. Linux only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.launch.runner import DEFAULT_GATEWAY_TOKEN, MODEL, Stack

TICKS = os.sysconf("SC_CLK_TCK")
MESSAGES = ("what's my balance?", "show me my latest invoice")
CONVERSATIONS, TURNS, REPEATS = 20, 10, 3


def process_tree(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return tree


def cpu_seconds(pids: set[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICKS


async def conversation(client: httpx.AsyncClient, url: str, token: str, sender: str) -> None:
    for turn in range(TURNS):
        answer = await client.post(
            url,
            headers={"Authorization": f"Bearer {token}"},
            json={
                "sender": sender,
                "message": MESSAGES[turn % len(MESSAGES)],
                "metadata": {"identity": {"email": "alex@acme.example"}, "channel": "api"},
            },
        )
        answer.raise_for_status()


async def measure(model: Path) -> None:
    with Stack(data_dir=Path(tempfile.mkdtemp(prefix="turn-cpu-")), model=model) as stack:
        token = stack.gateway_token or DEFAULT_GATEWAY_TOKEN
        trees = {s.name: process_tree(s.process.pid) for s in stack.services if s.process is not None}
        async with httpx.AsyncClient(timeout=60) as client:
            await asyncio.gather(*(conversation(client, stack.webhook_url, token, f"warm-{i}") for i in range(5)))
            for repeat in range(REPEATS):
                before = {name: cpu_seconds(pids) for name, pids in trees.items()}
                started = time.perf_counter()
                await asyncio.gather(
                    *(conversation(client, stack.webhook_url, token, f"r{repeat}-{i}") for i in range(CONVERSATIONS))
                )
                seconds = time.perf_counter() - started
                turns = CONVERSATIONS * TURNS
                costs = ", ".join(
                    f"{name} {1000 * (cpu_seconds(pids) - before[name]) / turns:.1f}" for name, pids in trees.items()
                )
                print(f"repeat {repeat + 1}: {turns / seconds:.1f} turns/s; CPU ms a turn: {costs}", flush=True)


if __name__ == "__main__":
    asyncio.run(measure(Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL))
