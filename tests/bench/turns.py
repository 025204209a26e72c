"""Full billing turns of our assistant through the Rasa channel the gateway uses.

`bot.launch.runner.Stack` starts the billing backend (SQLite, demo data), the action server and Rasa with
this run's model, on free ports in a temporary folder. A turn is one POST to the gateway channel
(`/webhooks/gateway/webhook`, bearer token, identity alex@acme.example in the metadata) and the
wait for the bot's answer. The turns are read-only billing requests, so the load is repeatable:
"what's my balance?" (check_balance -> balance from billing) and "show me my latest invoice"
(get_invoice -> the latest invoice from billing), alternating within each conversation. A turn
counts only if its answer is a real one (some text with a number in it, not an error reply); the
billing backend's access log must show at least one billing call per turn.

The floor (tests/bench/floor.py: the stock bot of `rasa init`) runs beside our stack and is
measured in the same run, in alternation with ours (tests/bench/turnload.py: five rounds, each
1 conversation alone, then 20 concurrent conversations, for each bot in turn). Both bots see the
same machine at nearly the same moments, so the ratio between them holds when the machine's speed
drifts (on this shared 2-core machine, the stock bot alone has measured anywhere from 26 to 35
turns/s within one hour).

Figures:
* turn_ms_p50, turn_ms_p95: latency of a turn, alone;  turns_per_s: turns per second, alone;
* turn_concurrent_ms_p50/p95: the same with 20 conversations at once; turns_concurrent_per_s:
  turns per second with 20 conversations, the median of the five rounds;
* turns_vs_floor_concurrent: our turns/s over the floor's in the same round, the median of the
  five rounds (target >= 1.5);  turn_ms_p50_over_floor: our p50 alone minus the floor's (<= 20);
* turn_billing_calls: billing API requests per measured turn (from the backend's access log);
* floor_...: the floor's figures, named as ours.

Three registry entries (`turn`, `turns`, `floor`: a benchmark's figures start with its name)
share one measurement per process.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from bot.launch.runner import DEFAULT_GATEWAY_TOKEN, Stack

from . import BenchFailed, Figures, benchmark
from .floor import floor_server
from .rasa_env import our_model, tmp_dir
from .stats import percentile
from .turnload import ROUNDS, WARMUP_TURNS, Result, Target, measure, nonempty

MESSAGES = ["what's my balance?", "show me my latest invoice"]
IDENTITY = {"email": "alex@acme.example"}
ERROR_REPLIES = (
    "can't be reached",
    "went wrong",
    "need to know who you are",
    "couldn't find a customer account",
    "Manage Billing",
)
BILLING_CALL = re.compile(r'"(?:GET|POST|PUT|PATCH|DELETE) /v1/')

_measured: tuple[Result, Result, float, list[str]] | None = None
_failed: Exception | None = None  # a failed start is not retried by the other registry entries


def _check(text: str, answer: list) -> str | None:
    if (problem := nonempty(text, answer)) is not None:
        return problem
    said = " ".join(str(m.get("text") or "") for m in answer if isinstance(m, dict))
    if any(e.lower() in said.lower() for e in ERROR_REPLIES):
        return f"error reply: {said[:200]}"
    if not re.search(r"\d", said):
        return f"no figure in the answer (not a billing answer?): {said[:200]}"
    return None


def _billing_calls(log: Path) -> int:
    return len(BILLING_CALL.findall(log.read_text(errors="replace"))) if log.exists() else 0


def _measure() -> tuple[Result, Result, float, list[str]]:
    if _failed is not None:
        raise RuntimeError(f"see the turn benchmark: {_failed.__class__.__name__}") from _failed
    try:
        return _measure_once()
    except Exception as exc:
        globals()["_failed"] = exc
        raise


def _measure_once() -> tuple[Result, Result, float, list[str]]:
    global _measured
    if _measured is None:
        model = our_model()
        data = tmp_dir("stack-")
        with floor_server() as floor:
            print(f"  starting billing + actions + Rasa (model {model.name})", flush=True)
            with Stack(data_dir=data, model=model) as stack:
                billing_log = data / "logs" / "billing.log"
                before = _billing_calls(billing_log)
                ours = Target(
                    "our bot",
                    stack.webhook_url,
                    MESSAGES,
                    headers={"Authorization": f"Bearer {stack.gateway_token or DEFAULT_GATEWAY_TOKEN}"},
                    body=lambda sender, text: {
                        "sender": sender,
                        "message": text,
                        "metadata": {"identity": IDENTITY, "channel": "api"},
                    },
                    check=_check,
                )
                result, floor_result = measure([ours, floor])
                calls = _billing_calls(billing_log) - before
        phases = (result.alone, result.together)
        turns = WARMUP_TURNS + sum(len(p.ms) + len(p.errors) for p in phases)
        per_turn = calls / turns if turns else 0.0
        print(f"  billing calls: {calls} for {turns} measured turns ({per_turn:.2f} a turn)", flush=True)
        problems = [
            f"{len(p.errors)} failed turns ({name}), first: {p.errors[0]}"
            for name, p in (("alone", result.alone), ("concurrent", result.together))
            if p.errors
        ]
        if per_turn < 1:
            problems.append(f"only {per_turn:.2f} billing calls a turn: the turns do not all reach billing")
        if problems:
            problems.append(f"logs in {data / 'logs'} (BENCH_KEEP_TMP=1 keeps them)")
        floor_errors = len(floor_result.alone.errors) + len(floor_result.together.errors)
        if floor_errors:
            problems.append(f"{floor_errors} failed turns of the stock bot")
        _measured = (result, floor_result, per_turn, problems)
    return _measured


def _result(figures: Figures, problems: list[str]) -> Figures:
    if problems:
        raise BenchFailed("; ".join(problems), figures)
    return figures


@benchmark("turn")
def run_turn() -> Figures:
    result, floor, per_turn, problems = _measure()
    over = percentile(result.alone.ms, 50) - percentile(floor.alone.ms, 50)
    return _result(
        {
            **result.alone.latency("turn_ms"),
            **result.together.latency("turn_concurrent_ms"),
            "turn_ms_p50_over_floor": round(over, 1),
            "turn_billing_calls": round(per_turn, 2),
        },
        problems,
    )


@benchmark("turns")
def run_turns() -> Figures:
    result, floor, _, problems = _measure()
    ratios = [ours / theirs for ours, theirs in zip(result.rounds_per_s, floor.rounds_per_s) if theirs]
    print(f"  ours / floor by round: {', '.join(f'{r:.2f}' for r in ratios)} (median of {ROUNDS})", flush=True)
    return _result(
        {
            "turns_per_s": round(result.alone.per_s, 2),
            "turns_concurrent_per_s": round(result.together_per_s, 2),
            "turns_vs_floor_concurrent": round(statistics.median(ratios), 3) if ratios else 0.0,
        },
        problems,
    )


@benchmark("floor")
def run_floor() -> Figures:
    _, floor, _, problems = _measure()
    return _result(
        {
            **floor.alone.latency("floor_turn_ms"),
            "floor_turns_per_s": round(floor.alone.per_s, 2),
            **floor.together.latency("floor_turn_concurrent_ms"),
            "floor_turns_concurrent_per_s": round(floor.together_per_s, 2),
        },
        problems,
    )
