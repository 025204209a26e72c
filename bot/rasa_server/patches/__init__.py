"""Patches to Rasa 3.6's turn hot path, one module per patch, applied by ``apply()``.

Each patch was found by profiling the Rasa process under `make bench`'s turn benchmark, changes
nothing Rasa does (its own tests say how that is checked), and is kept only while it pays for itself:
`make bench`'s ``patches`` benchmark measures the Rasa process's CPU per turn with each one off in
turn, against all on, in the same run (docs/benchmarks.md). ``RASA_PATCHES_OFF`` (comma-separated
module names) turns patches off, for that measurement or to rule a patch out.

They reach into Rasa's internals, so they are applied only to the Rasa version they were verified
on: any other refuses to start, naming both. Verify them on a new version (tests/rasa_env, and the
bench) before changing ``VERIFIED_ON``.

Corrections of behaviour are not patches: the PostgreSQL tracker store's fixes for dropped
connections are a tracker store class named in the endpoints file (bot/rasa_server/tracker_store.py), so they
hold under plain `rasa run` too.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

VERIFIED_ON = "3.6.21"
# The patches applied when Rasa starts (thread_pools is applied by the launcher, earlier).
PATCHES = (
    "action_results",
    "event_types",
    "endpoint_sessions",
    "action_payload",
    "events_kept",
    "slot_copies",
    "rule_lookup",
    "rule_window",
    "applied_events",
    "prior_states",
    "tracker_copies",
    "rule_logs",
    "feature_keys",
    "graph_runs",
)


class UnverifiedRasa(SystemExit):
    pass


def check_version(installed: str | None = None) -> None:
    if installed is None:
        import rasa

        installed = rasa.__version__
    if installed != VERIFIED_ON:
        raise UnverifiedRasa(
            f"bot/rasa_server/patches was verified on Rasa {VERIFIED_ON}, and Rasa {installed} is installed: its "
            "patches reach into Rasa's internals. Install the verified version (requirements/rasa.lock), or verify the "
            "patches on this one (tests/rasa_env, make bench) and change VERIFIED_ON."
        )


def turned_off(environ: Mapping[str, str] = os.environ) -> set[str]:
    return {name.strip() for name in environ.get("RASA_PATCHES_OFF", "").split(",") if name.strip()}


def apply(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Check the Rasa version, apply every patch not turned off; the names applied."""
    check_version()
    off = turned_off(environ)
    unknown = off - set(PATCHES) - {"thread_pools"}
    if unknown:
        raise SystemExit(f"RASA_PATCHES_OFF: no such patch {sorted(unknown)}; the patches are {', '.join(PATCHES)}")
    applied = [name for name in PATCHES if name not in off]
    for name in applied:
        importlib.import_module(f"{__name__}.{name}").apply()
    return applied
