"""Full billing turns of our assistant through the Rasa channel the gateway uses.

`bot.runner.Stack` starts the billing backend (SQLite, demo data), the action server and Rasa with
this run's model, on free ports in a temporary folder. A turn is one POST to the gateway channel
(`/webhooks/gateway/webhook`, bearer token, identity alex@acme.example in the metadata) and the
wait for the bot's answer. The turns are read-only billing requests, so the load is repeatable:
"what's my balance?" (check_balance -> balance from billing) and "show me my latest invoice"
(get_invoice -> the latest invoice from billing), alternating within each conversation. A turn
counts only if its answer is a real one (some text with a number in it, not an error reply); the
billing backend's access log must show at least one billing call per turn.

Figures (tests/bench/turnload.py: 1 conversation alone, then 20 concurrent conversations):
* turn_ms_p50, turn_ms_p95: latency of a turn, alone;  turns_per_s: turns per second, alone;
* turn_concurrent_ms_p50/p95, turns_concurrent_per_s: the same with 20 conversations at once;
* turn_billing_calls: billing API requests per measured turn (from the backend's access log).

Two registry entries (`turn`, `turns`: a benchmark's figures start with its name) share one
measurement per process.
"""
from __future__ import annotations

import re
from pathlib import Path

from bot.runner import DEFAULT_GATEWAY_TOKEN, Stack

from . import BenchFailed, Figures, benchmark
from .rasa_env import our_model, tmp_dir
from .turnload import WARMUP_TURNS, Phase, measure, nonempty

MESSAGES = ["what's my balance?", "show me my latest invoice"]
IDENTITY = {"email": "alex@acme.example"}
ERROR_REPLIES = ("can't be reached", "went wrong", "need to know who you are", "couldn't find a customer account",
                 "Manage Billing")
BILLING_CALL = re.compile(r'"(?:GET|POST|PUT|PATCH|DELETE) /v1/')

_measured: tuple[Phase, Phase, float, list[str]] | None = None
_failed: Exception | None = None  # a failed start is not retried by the second registry entry


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


def _measure() -> tuple[Phase, Phase, float, list[str]]:
    if _failed is not None:
        raise RuntimeError(f"see the turn benchmark: {_failed.__class__.__name__}") from _failed
    try:
        return _measure_once()
    except Exception as exc:
        globals()["_failed"] = exc
        raise


def _measure_once() -> tuple[Phase, Phase, float, list[str]]:
    global _measured
    if _measured is None:
        model = our_model()
        data = tmp_dir("stack-")
        print(f"  starting billing + actions + Rasa (model {model.name})", flush=True)
        with Stack(data_dir=data, model=model) as stack:
            billing_log = data / "logs" / "billing.log"
            before = _billing_calls(billing_log)
            alone, together = measure(
                stack.webhook_url, MESSAGES, label="our bot",
                headers={"Authorization": f"Bearer {stack.gateway_token or DEFAULT_GATEWAY_TOKEN}"},
                body=lambda sender, text: {"sender": sender, "message": text,
                                           "metadata": {"identity": IDENTITY, "channel": "api"}},
                check=_check)
            calls = _billing_calls(billing_log) - before
        turns = WARMUP_TURNS + len(alone.ms) + len(together.ms) + len(alone.errors) + len(together.errors)
        per_turn = calls / turns if turns else 0.0
        print(f"  billing calls: {calls} for {turns} measured turns ({per_turn:.2f} a turn)", flush=True)
        problems = [f"{len(p.errors)} failed turns ({name}), first: {p.errors[0]}"
                    for name, p in (("alone", alone), ("concurrent", together)) if p.errors]
        if per_turn < 1:
            problems.append(f"only {per_turn:.2f} billing calls a turn: the turns do not all reach billing")
        if problems:
            problems.append(f"logs in {data / 'logs'} (BENCH_KEEP_TMP=1 keeps them)")
        _measured = (alone, together, per_turn, problems)
    return _measured


def _result(figures: Figures, problems: list[str]) -> Figures:
    if problems:
        raise BenchFailed("; ".join(problems), figures)
    return figures


@benchmark("turn")
def run_turn() -> Figures:
    alone, together, per_turn, problems = _measure()
    return _result({**alone.latency("turn_ms"), **together.latency("turn_concurrent_ms"),
                    "turn_billing_calls": round(per_turn, 2)}, problems)


@benchmark("turns")
def run_turns() -> Figures:
    alone, together, _, problems = _measure()
    return _result({"turns_per_s": round(alone.per_s, 2), "turns_concurrent_per_s": round(together.per_s, 2)},
                   problems)
