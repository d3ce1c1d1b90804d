"""Trigger outcomes keep the workspace whose request they came from, so each workspace's statistics are its own.

Revision ID: 0011_trigger_workspace
Revises: 0010_service

Outcomes recorded before this revision have no workspace (``NULL``): they count in the totals of
the whole database, never in one workspace's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_trigger_workspace"
down_revision = "0010_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trigger_outcomes") as batch:
        batch.add_column(sa.Column("workspace", sa.String(100), nullable=True))
        batch.create_index("ix_trigger_outcomes_workspace_trigger", ["workspace", "trigger"])


def downgrade() -> None:
    with op.batch_alter_table("trigger_outcomes") as batch:
        batch.drop_index("ix_trigger_outcomes_workspace_trigger")
        batch.drop_column("workspace")
