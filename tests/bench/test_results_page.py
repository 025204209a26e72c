"""docs/benchmarks.md is bench-results.json rendered, and both are in the repository.

`python -m tests.bench NAME` merges its figures into bench-results.json and renders the whole page
from it; were the file left out of the repository, a run on a fresh clone would render a page of
only the benchmarks it ran and drop every other section.
"""

from __future__ import annotations

import json
import subprocess

from tests.bench import report
from tests.bench.__main__ import RESULTS, ROOT


def test_the_results_are_in_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(RESULTS.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        timeout=30,
    )
    assert tracked.returncode == 0, "bench-results.json is not tracked by git"


def test_the_page_is_the_results_rendered():
    assert report.render(json.loads(RESULTS.read_text())) == report.PAGE.read_text()
