"""Workspace preferences: tier bounds and default, preferred providers and models per tier, auto-escalation,
the quality policy (budgets stay on workspace_budgets and the ledger).

Revision ID: 0009_workspace_preferences
Revises: 0008_attempt_error_causes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_workspace_preferences"
down_revision = "0008_attempt_error_causes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_preferences",
        sa.Column("workspace", sa.String(100), primary_key=True),
        sa.Column("min_tier", sa.String(100), nullable=True),
        sa.Column("max_tier", sa.String(100), nullable=True),
        sa.Column("default_tier", sa.String(100), nullable=True),
        sa.Column("preferred_providers", sa.JSON, nullable=False),
        sa.Column("preferred_models", sa.JSON, nullable=False),
        sa.Column("auto_escalation", sa.Boolean, nullable=False),
        sa.Column("quality_scorer", sa.String(100), nullable=True),
        sa.Column("quality_threshold", sa.Float, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspace_preferences")
