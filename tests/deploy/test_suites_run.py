"""make test runs every test file: its pytest and `rasa test` lines name folders (or files), and a
folder of tests left off them never runs (tests/privacy was, when it came)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("test-app-sqlite", "test-app-postgres", "test-rasa", "test-dialogue")


def named_by_make_test() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    named: set[str] = set()
    for target in TARGETS:
        recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        for line in recipe.splitlines():
            if "pytest" in line or "rasa) test" in line.lower() or "$(RASA) test" in line:
                named |= set(re.findall(r"\btests/[\w/]+(?:\.py)?", line.split("#", 1)[0]))
    return named


def test_every_test_file_is_run_by_make_test() -> None:
    named = named_by_make_test()
    files = [p for p in (ROOT / "tests").rglob("test_*.*") if p.suffix in (".py", ".yml")]
    left_out = sorted(
        str(p.relative_to(ROOT))
        for p in files
        if not any(str(p.relative_to(ROOT)) == n or p.relative_to(ROOT).is_relative_to(n) for n in named)
    )
    assert files and not left_out, f"test files make test never runs (add their folder to the Makefile): {left_out}"
