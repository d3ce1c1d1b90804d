"""The inbox: escalated decisions waiting for a person, their batches and answers.

Revision ID: 0012_inbox
Revises: 0011_trigger_workspace
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_inbox"
down_revision = "0011_trigger_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("decision_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("assignees", sa.JSON, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_id", sa.String(32), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(100), nullable=True),
        sa.Column("response", sa.JSON, nullable=True),
        sa.UniqueConstraint("workspace", "decision_id", name="uq_inbox_items_decision"),
    )
    op.create_index("ix_inbox_items_workspace_state", "inbox_items", ["workspace", "state", "created_at"])


def downgrade() -> None:
    op.drop_table("inbox_items")
