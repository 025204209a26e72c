"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 10:13:12.658310

One revision, as databases already carry it: splitting it into revisions would change what 0001
means for them. Its tables live in two modules a reader looks for apart (bot/billing/migrations/
initial/): the accounts and catalog, then the billing documents that refer to them.
tests/billing/test_migrations.py checks the result against the tables.
"""

from bot.billing.migrations.initial import accounts, documents

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    accounts.create()
    documents.create()


def downgrade() -> None:
    documents.drop()
    accounts.drop()
