"""Trigger outcomes: per fired trigger, whether the task escalated and whether it needed to.

Revision ID: 0002_trigger_outcomes
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_trigger_outcomes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trigger_outcomes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(100), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("needed", sa.Boolean, nullable=False),
        sa.Column("task_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_trigger_outcomes_trigger", "trigger_outcomes", ["trigger"])


def downgrade() -> None:
    op.drop_index("ix_trigger_outcomes_trigger", "trigger_outcomes")
    op.drop_table("trigger_outcomes")
