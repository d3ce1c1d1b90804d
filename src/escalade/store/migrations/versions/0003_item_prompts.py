"""Items keep their prompt, so that routers can be fitted from logged outcomes.

Revision ID: 0003_item_prompts
Revises: 0002_trigger_outcomes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_item_prompts"
down_revision = "0002_trigger_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("prompt", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("prompt")
