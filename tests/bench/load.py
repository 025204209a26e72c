"""Concurrent clients of the billing API: each repeats quote (add licenses) -> order."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from .server import SERVICE_TOKEN

PRODUCT = "enterprise"  # no max_quantity, but the quantities stay small anyway
MAX_ADD = 3


@dataclass
class Samples:
    quote_ms: list[float] = field(default_factory=list)
    order_ms: list[float] = field(default_factory=list)
    pair_ms: list[float] = field(default_factory=list)  # one quote then its order, end to end
    ordered: Counter = field(default_factory=Counter)  # acting user -> licences added by 201 orders
    orders: Counter = field(default_factory=Counter)  # acting user -> orders that answered 201
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def orders_per_s(self) -> float:
        return sum(self.orders.values()) / self.wall_s if self.wall_s else 0.0


def _failure(step: str, response: httpx.Response) -> str:
    return f"{step} -> {response.status_code}: {response.text[:300]}"


async def _worker(base_url: str, email: str, rounds: int, deadline: float, rng: random.Random, out: Samples) -> None:
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-User": email, "X-Channel": "api"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        for _ in range(rounds):
            if time.monotonic() > deadline:
                return
            quantity = rng.randint(1, MAX_ADD)
            try:
                t0 = time.perf_counter()
                r = await client.post("/v1/quotes/add-licenses", json={"quantity": quantity, "product": PRODUCT})
                t1 = time.perf_counter()
                if r.status_code != 201:
                    out.errors.append(_failure("POST /v1/quotes/add-licenses", r))
                    continue
                quote = r.json()
                r = await client.post(
                    "/v1/orders", json={"quote": quote["number"]}, headers={"Idempotency-Key": quote["idempotency_key"]}
                )
                t2 = time.perf_counter()
            except httpx.HTTPError as exc:
                out.errors.append(f"{exc.__class__.__name__}: {exc}")
                continue
            if r.status_code != 201:
                out.errors.append(_failure("POST /v1/orders", r))
                continue
            out.quote_ms.append((t1 - t0) * 1000)
            out.order_ms.append((t2 - t1) * 1000)
            out.pair_ms.append((t2 - t0) * 1000)
            out.ordered[email] += quantity
            out.orders[email] += 1


async def _run(base_url: str, emails: list[str], rounds: int, budget_s: float, seed: int) -> Samples:
    out = Samples()
    deadline = time.monotonic() + budget_s
    start = time.perf_counter()
    await asyncio.gather(
        *(
            _worker(base_url, email, rounds, deadline, random.Random(seed * 1000 + i), out)
            for i, email in enumerate(emails)
        )
    )
    out.wall_s = time.perf_counter() - start
    return out


def run_load(base_url: str, emails: list[str], *, rounds: int, budget_s: float, seed: int = 1) -> Samples:
    """One concurrent worker per entry of `emails` (repeat an email to share a customer)."""
    return asyncio.run(_run(base_url, emails, rounds, budget_s, seed))
