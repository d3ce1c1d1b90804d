"""Attempts record prompt-cache writes (billed apart from reads and plain input) and the price data version.

Revision ID: 0004_cache_write_tokens
Revises: 0003_item_prompts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_cache_write_tokens"
down_revision = "0003_item_prompts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("cache_write_tokens", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("price_data_version", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("price_data_version")
        batch.drop_column("cache_write_tokens")
