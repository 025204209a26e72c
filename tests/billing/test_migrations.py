"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bot.billing.adapters.orm import Base, Order, Quote
from bot.billing.migrate import alembic_config, upgrade


def test_migrations_match_the_models(database):
    with database.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
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
