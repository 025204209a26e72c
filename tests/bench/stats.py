"""Latency summaries without numpy."""

from __future__ import annotations

import statistics


def percentile(samples: list[float], p: int) -> float:
    """The p-th percentile (1..99), interpolated between the closest samples."""
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def p50_p95(prefix: str, samples: list[float]) -> dict[str, float]:
    return {f"{prefix}_p50": round(percentile(samples, 50), 1), f"{prefix}_p95": round(percentile(samples, 95), 1)}
