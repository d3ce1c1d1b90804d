"""Initial schema: runs, attempts, items, escalations, telemetry events.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("items_total", sa.Integer, nullable=False),
        sa.Column("tier_names", sa.JSON, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("notes", sa.JSON, nullable=False),
    )
    op.create_index("ix_runs_workflow", "runs", ["workflow"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(100), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.String(300), nullable=False),
        sa.Column("tier", sa.String(100), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("cqs", sa.Float),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("cached_input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("latency_s", sa.Float, nullable=False),
        sa.Column("signals", sa.JSON),
        sa.Column("answer", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attempts_run_item", "attempts", ["run_id", "item_id"])
    op.create_table(
        "items",
        sa.Column("run_id", sa.String(100), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.String(300), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("final_tier", sa.String(100)),
        sa.Column("final_model", sa.String(300)),
        sa.Column("final_cqs", sa.Float),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("premium_baseline_usd", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(100), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.String(300), nullable=False),
        sa.Column("from_tier", sa.String(100), nullable=False),
        sa.Column("to_tier", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_escalations_run_id", "escalations", ["run_id"])
    op.create_table(
        "telemetry_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(50), nullable=False),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("run_id", sa.String(100)),
        sa.Column("user_hash", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(100)),
        sa.Column("model", sa.String(300)),
        sa.Column("cost_usd", sa.Float),
        sa.Column("tokens", sa.Integer),
        sa.Column("cqs", sa.Float),
        sa.Column("escalated", sa.Boolean),
        sa.Column("duration_s", sa.Float),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_telemetry_events_created_at", "telemetry_events", ["created_at"])


def downgrade() -> None:
    for table in ("telemetry_events", "escalations", "items", "attempts", "runs"):
        op.drop_table(table)
