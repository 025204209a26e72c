"""make lint type-checks every package under bot/: a package left off the Makefile's mypy lines is
never checked (bot/launch went unchecked that way, with four errors), unless another checked
package imports it, which mypy follows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORTED_ONLY = {"telemetry"}  # shared by both environments' code; checked through its importers


def mypy_targets() -> set[str]:
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    return {m for line in lint.splitlines() if "bin/mypy" in line for m in re.findall(r"\bbot/(\w+)", line)}


def test_every_package_under_bot_is_type_checked() -> None:
    packages = {p.parent.name for p in (ROOT / "bot").glob("*/__init__.py")}
    missing = packages - mypy_targets() - IMPORTED_ONLY
    assert not missing, f"packages make lint does not type-check (add them to its mypy lines): {sorted(missing)}"
