"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from bot.billing.adapters.orm import Base, Order, Quote
from bot.billing.migrate import alembic_config, upgrade


# SQLite's reflection cannot read an index on an expression (users' lower(email)); the next test
# checks that one by name on both engines.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_the_models(database):
    with database.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def _indexes_on_users(conn) -> set[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'users' AND schemaname = current_schema()"
    return set(conn.execute(text(query)).scalars())


def test_users_are_found_by_lower_email_through_an_index(database):
    with database.writer.connect() as conn:
        assert "ix_users_email_lower" in _indexes_on_users(conn)


def test_downgrade_and_upgrade_again(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0002_slack_workspaces")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert "ix_users_email_lower" not in _indexes_on_users(conn)
    engine.dispose()
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    assert "invoices" in inspect(engine).get_table_names()
    engine.dispose()


def test_document_numbers_round_trip():
    assert Order.id_for("ORD-10007") == 7 and Order.id_for(" ord-10007 ") == 7
    assert Quote.id_for("Q-5001") == 1
    for bad in ("ORD-10000", "ORD-abc", "Q-5001", "", "ORD-99999999999999999999"):
        assert Order.id_for(bad) is None
