"""Turns through a Rasa REST-style channel: one conversation alone, then N concurrent conversations,
for one bot or several in alternation (ours and the stock bot's floor).

A turn is one POST of a user message and the wait for the bot's answer (the list of bot messages):
its latency is the round trip seen by the client. Rasa serialises the turns of one conversation
(lock store), so each concurrent conversation has its own sender id. Every phase is bounded in
turns and in time.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from .stats import percentile

Body = Callable[[str, str], dict]  # (sender, text) -> JSON body
Check = Callable[[str, list], "str | None"]  # (text, bot messages) -> problem or None

ALONE_TURNS = 100
CONCURRENT = 20
CONCURRENT_ROUNDS = 15  # turns per concurrent conversation
PHASE_BUDGET_S = 45.0
WARMUP_TURNS = 4
ROUNDS = 5  # measure() alternates its targets this many times
REQUEST_TIMEOUT_S = 60.0


@dataclass
class Phase:
    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def per_s(self) -> float:
        return len(self.ms) / self.wall_s if self.wall_s else 0.0

    def latency(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_p50": round(percentile(self.ms, 50), 1), f"{prefix}_p95": round(percentile(self.ms, 95), 1)}


def nonempty(_text: str, answer: list) -> str | None:
    """The default check: the bot said something."""
    if not isinstance(answer, list) or not any(
        isinstance(m, dict) and (m.get("text") or m.get("custom")) for m in answer
    ):
        return f"no bot message in the answer: {str(answer)[:200]}"
    return None


@dataclass
class Target:
    """A bot to load: its channel URL, the turns of its conversations and how to check an answer."""

    label: str
    url: str
    messages: list[str]
    body: Body
    headers: dict = field(default_factory=dict)
    check: Check = nonempty


CONVERSATION_TURNS = 10  # a new conversation (sender) every so many turns, as real ones are short


async def _conversation(
    client: httpx.AsyncClient, target: Target, sender: str, turns: int, deadline: float, out: Phase
) -> None:
    """``turns`` turns from one client, as consecutive conversations of CONVERSATION_TURNS turns
    (a tracker that grows for hundreds of turns would measure the tracker store, not a turn)."""
    for i in range(turns):
        if time.monotonic() > deadline:
            return
        text = target.messages[i % len(target.messages)]
        started = time.perf_counter()
        try:
            response = await client.post(target.url, json=target.body(f"{sender}-{i // CONVERSATION_TURNS}", text))
        except httpx.HTTPError as exc:
            out.errors.append(f"{text!r}: {exc.__class__.__name__}: {exc}")
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            out.errors.append(f"{text!r}: HTTP {response.status_code}: {response.text[:200]}")
            continue
        answer = response.json()
        if (problem := target.check(text, answer)) is not None:
            out.errors.append(f"{text!r}: {problem}")
            continue
        out.ms.append(elapsed)


async def _phase(target: Target, conversations: int, turns: int) -> Phase:
    """``conversations`` clients at once, ``turns`` turns each, within PHASE_BUDGET_S."""
    out = Phase()
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=conversations + 2, max_keepalive_connections=conversations + 2)
    async with httpx.AsyncClient(headers=target.headers, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        deadline = time.monotonic() + PHASE_BUDGET_S
        started = time.perf_counter()
        await asyncio.gather(
            *(_conversation(client, target, f"bench-{run}-{n}", turns, deadline, out) for n in range(conversations))
        )
        out.wall_s = time.perf_counter() - started
    return out


@dataclass
class Result:
    """A target's turns over all rounds, and its concurrent turns/s in each round."""

    alone: Phase = field(default_factory=Phase)
    together: Phase = field(default_factory=Phase)
    rounds_per_s: list[float] = field(default_factory=list)

    @property
    def together_per_s(self) -> float:
        """The median round: one slow moment of the machine moves it less than the mean."""
        return statistics.median(self.rounds_per_s) if self.rounds_per_s else 0.0


def _add(total: Phase, part: Phase) -> None:
    total.ms += part.ms
    total.errors += part.errors
    total.wall_s += part.wall_s


def measure(targets: list[Target], rounds: int = ROUNDS) -> list[Result]:
    """Warm every target up, then ``rounds`` rounds: in each, every target's conversation alone
    (ALONE_TURNS / rounds turns), then every target's CONCURRENT conversations at once. Targets
    take turns within a round, the first of one round going last in the next, so a drift of the
    machine's speed (other work, CPU clocks) falls on all of them alike and per-round ratios
    between them hold even when the absolute figures move."""
    results = [Result() for _ in targets]

    async def run() -> None:
        for target in targets:
            warm = await _phase(target, 1, WARMUP_TURNS)
            if warm.errors:
                raise RuntimeError(f"{target.label} warm-up failed: {warm.errors[0]}")
        order = list(zip(targets, results))
        for n in range(rounds):
            turn_order = order if n % 2 == 0 else order[::-1]
            for target, result in turn_order:
                _add(result.alone, await _phase(target, 1, max(1, ALONE_TURNS // rounds)))
            for target, result in turn_order:
                together = await _phase(target, CONCURRENT, CONCURRENT_ROUNDS)
                _add(result.together, together)
                result.rounds_per_s.append(together.per_s)

    load = os.getloadavg()[0]
    asyncio.run(run())
    print(
        f"  load average {load:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores; other "
        f"work on the machine slows every figure)",
        flush=True,
    )
    for target, result in zip(targets, results):
        for name, phase in (("alone", result.alone), (f"{CONCURRENT} concurrent", result.together)):
            print(
                f"  {target.label} {name}: {len(phase.ms)} turns in {phase.wall_s:.1f} s, {len(phase.errors)} "
                f"failed; p50 {percentile(phase.ms, 50):.0f} ms, p95 {percentile(phase.ms, 95):.0f} ms, "
                f"{phase.per_s:.1f} turns/s",
                flush=True,
            )
            for error in dict.fromkeys(phase.errors[:3]):
                print(f"    failed turn: {error}")
        print(
            f"  {target.label} turns/s with {CONCURRENT} conversations, by round: "
            + ", ".join(f"{x:.1f}" for x in result.rounds_per_s),
            flush=True,
        )
    return results
