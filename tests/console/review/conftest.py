from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.review.inbox import Db, database, project


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Iterator[Db]:
    yield from database(request.param, tmp_path)


@pytest.fixture
def reviewed(tmp_path):
    return project(tmp_path)
