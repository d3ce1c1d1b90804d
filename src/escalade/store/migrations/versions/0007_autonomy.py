"""Human escalation: decisions and outcomes, familiarity, learned offsets, calibrations, the audit trail.

Revision ID: 0007_autonomy
Revises: 0006_budget_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_autonomy"
down_revision = "0006_budget_ledger"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "autonomy_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("decision_id", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("environment", sa.String(20), nullable=True),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("risk_accepted", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("rule_hits", sa.JSON, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("recommendation", sa.String(10), nullable=False),
        sa.Column("affected_files", sa.JSON, nullable=False),
        sa.Column("affected_systems", sa.JSON, nullable=False),
        sa.Column("record_count", sa.BigInteger, nullable=False),
        sa.Column("estimated_cost", sa.Float, nullable=False),
        sa.Column("sampled", sa.Boolean, nullable=False),
        sa.Column("audit_seq", sa.Integer, nullable=True),
        sa.Column("outcome", sa.JSON, nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_seq", sa.Integer, nullable=True),
        sa.Column("label", sa.Boolean, nullable=True),
        sa.UniqueConstraint("workspace", "decision_id", name="uq_autonomy_decisions_workspace_id"),
    )
    op.create_index("ix_autonomy_decisions_workspace_type", "autonomy_decisions", ["workspace", "type"])
    op.create_table(
        "autonomy_areas",
        sa.Column("workspace", sa.String(100), primary_key=True),
        sa.Column("area", sa.String(600), primary_key=True),
        sa.Column("successes", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_table(
        "autonomy_offsets",
        sa.Column("workspace", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_table(
        "autonomy_calibrations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("audit_seq", sa.Integer, nullable=True),
    )
    op.create_index("ix_autonomy_calibrations_workspace", "autonomy_calibrations", ["workspace"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_entries")
    op.drop_index("ix_autonomy_calibrations_workspace", table_name="autonomy_calibrations")
    op.drop_table("autonomy_calibrations")
    op.drop_table("autonomy_offsets")
    op.drop_table("autonomy_areas")
    op.drop_index("ix_autonomy_decisions_workspace_type", table_name="autonomy_decisions")
    op.drop_table("autonomy_decisions")
