"""A benchmark run is marked "(uncommitted changes)" only for changes to the code, not for the
bench's own output files, which every run rewrites (every section after the first was marked)."""

from __future__ import annotations

from tests.bench import __main__ as bench


def test_the_bench_output_files_do_not_count_as_changes(monkeypatch) -> None:
    status = "M bench-results.json\n M docs/benchmarks.md"  # git status output, stripped as _git does
    monkeypatch.setattr(bench, "_git", lambda *args: status)
    assert not bench.dirty()
    status += "\n M bot/nlu/spelling.py"
    assert bench.dirty()
