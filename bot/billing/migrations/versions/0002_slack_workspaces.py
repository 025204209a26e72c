"""Slack workspaces linked to orgs; the audit log names the calling service (issue 17)

Revision ID: 0002_slack_workspaces
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_slack_workspaces"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("linked_by", sa.String(length=254), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "team_id"),
    )
    with op.batch_alter_table("slack_workspaces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_workspaces_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slack_workspaces_team_id"), ["team_id"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("caller")
    with op.batch_alter_table("slack_workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_workspaces_team_id"))
        batch_op.drop_index(batch_op.f("ix_slack_workspaces_org_id"))
    op.drop_table("slack_workspaces")
