"""Provider API keys per workspace, encrypted at rest.

Revision ID: 0005_provider_keys
Revises: 0004_cache_write_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_provider_keys"
down_revision = "0004_cache_write_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_keys",
        sa.Column("workspace", sa.String(100), primary_key=True),
        sa.Column("provider", sa.String(100), primary_key=True),
        sa.Column("ciphertext", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("provider_keys")
