"""The budget ledger (lines and holds, integer nano-dollars) and workspaces' standing budgets.

Revision ID: 0006_budget_ledger
Revises: 0005_provider_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_budget_ledger"
down_revision = "0005_provider_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_lines",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("cap", sa.BigInteger, nullable=True),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "budget_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("lines", sa.JSON, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("actual", sa.BigInteger, nullable=True),
        sa.Column("owner", sa.String(400), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_budget_holds_status_expiry", "budget_holds", ["status", "expires_at"])
    op.create_table(
        "workspace_budgets",
        sa.Column("workspace", sa.String(100), primary_key=True),
        sa.Column("monthly_limit_usd", sa.Float, nullable=True),
        sa.Column("per_request_limit_usd", sa.Float, nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspace_budgets")
    op.drop_index("ix_budget_holds_status_expiry", table_name="budget_holds")
    op.drop_table("budget_holds")
    op.drop_table("budget_lines")
