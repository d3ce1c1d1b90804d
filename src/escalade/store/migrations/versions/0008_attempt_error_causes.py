"""Attempts record the cause of a failed call (authentication, connection, server error...), so a run counts them.

Revision ID: 0008_attempt_error_causes
Revises: 0007_autonomy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_attempt_error_causes"
down_revision = "0007_autonomy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("error_cause", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("error_cause")
