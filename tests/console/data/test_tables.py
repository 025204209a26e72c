"""The console's tables created by several indexers starting at once on a fresh database (two
replicas, or the test of two indexers): every one starts, and the tables are there."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import create_engine, inspect

from bot.console.data import tables


def _six_at_once(path: Path) -> list[BaseException]:
    engine = create_engine(f"sqlite:///{path}")
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def create() -> None:
        try:
            start.wait()
            tables.create(engine)
        except BaseException as error:  # reported below
            errors.append(error)

    workers = [threading.Thread(target=create) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert set(tables.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    return errors


def test_indexers_starting_at_once_on_a_fresh_sqlite_file_all_start(tmp_path):
    for round_ in range(5):
        assert _six_at_once(tmp_path / f"console-{round_}.db") == []
