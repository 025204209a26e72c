"""What each of bot/rasa_server/patches' patches saves: the Rasa process's CPU per billing turn with that
patch off, against all on, in the same run.

One stack (billing, action server, Rasa with this run's model). For each configuration (all patches
on; each one off in turn, through RASA_PATCHES_OFF) Rasa is restarted, warmed up, and then serves
TURNS billing turns from CONVERSATIONS conversations at once (the turn benchmark's messages); the
CPU seconds of the Rasa process (user + system, all its threads) over those turns give the CPU per
turn. The configurations are measured in ROUNDS alternating rounds and each figure is the median, so
a machine that drifts affects them alike.

Figures: patches_cpu_ms_per_turn (all on), patches_<name>_saves (the share of the CPU per turn the
patch saves: (off - on) / off; a patch whose share is not above zero does not pay for itself), and
patches_<name>_cpu_ms_per_turn_off.
"""

from __future__ import annotations

import asyncio
import statistics

from bot.launch.runner import Stack
from bot.rasa_server.patches import PATCHES

from . import BenchFailed, Figures, benchmark
from .production import _cpu_s
from .rasa_env import our_model, tmp_dir
from .turnload import Target, _phase
from .turns import IDENTITY, MESSAGES, _check

CONFIGS = ("", *PATCHES, "thread_pools")  # "" is all on
ROUNDS, CONVERSATIONS, TURNS, WARMUP = 2, 4, 60, 20  # TURNS per conversation


def _turns(stack: Stack, turns: int) -> tuple[int, list[str]]:
    target = Target(
        "ours",
        stack.webhook_url,
        MESSAGES,
        headers={"Authorization": f"Bearer {stack.gateway_token}"},
        body=lambda sender, text: {
            "sender": sender,
            "message": text,
            "metadata": {"identity": IDENTITY, "channel": "api"},
        },
        check=_check,
    )
    phase = asyncio.run(_phase(target, CONVERSATIONS, turns))
    return len(phase.ms), phase.errors


def _cpu_ms_per_turn(stack: Stack, off: str) -> float:
    rasa = stack.service("rasa")
    rasa.env["RASA_PATCHES_OFF"] = off
    stack.restart("rasa", timeout=240)
    _turns(stack, WARMUP // CONVERSATIONS)
    assert rasa.process is not None
    before = _cpu_s(rasa.process.pid)
    done, errors = _turns(stack, TURNS)
    used = _cpu_s(rasa.process.pid) - before
    if errors:
        raise BenchFailed(f"{len(errors)} failed turns with {off or 'all patches on'}, first: {errors[0]}")
    return used * 1000 / max(1, done)


@benchmark("patches")
def run() -> Figures:
    model = our_model()
    samples: dict[str, list[float]] = {config: [] for config in CONFIGS}
    with Stack(data_dir=tmp_dir("patches-"), model=model) as stack:
        for round_ in range(ROUNDS):
            for config in CONFIGS:
                samples[config].append(_cpu_ms_per_turn(stack, config))
                print(
                    f"  round {round_ + 1}: {config or 'all on':<18} {samples[config][-1]:.1f} ms CPU a turn",
                    flush=True,
                )
    on = statistics.median(samples[""])
    figures: Figures = {"patches_cpu_ms_per_turn": round(on, 2)}
    for name in CONFIGS[1:]:
        off = statistics.median(samples[name])
        figures[f"patches_{name}_cpu_ms_per_turn_off"] = round(off, 2)
        figures[f"patches_{name}_saves"] = round((off - on) / off, 3) if off else 0.0
    return figures
