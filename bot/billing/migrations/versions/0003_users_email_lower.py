"""Users are found by lower(email) on every request: an index on it (issue 21's 100,000-organisation run)

Revision ID: 0003_users_email_lower
Revises: 0002_slack_workspaces
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_users_email_lower"
down_revision = "0002_slack_workspaces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")], unique=False)


def downgrade() -> None:
    op.drop_index("ix_users_email_lower", table_name="users")
