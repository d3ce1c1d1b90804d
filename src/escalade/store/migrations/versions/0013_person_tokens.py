"""Per-person tokens: an API key may name the person who holds it and their roles (the web inbox's login).

Revision ID: 0013_person_tokens
Revises: 0012_inbox

Keys made before this revision have neither (``NULL``): they are workspace keys, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_person_tokens"
down_revision = "0012_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("person", sa.String(100), nullable=True))
        batch.add_column(sa.Column("roles", sa.JSON, nullable=True))


def downgrade() -> None:
    # Without its person, a token would become a workspace key that answers as anyone: revoke it first.
    keys = sa.table("api_keys", sa.column("person", sa.String), sa.column("revoked_at", sa.DateTime(timezone=True)))
    op.execute(
        keys.update()
        .where(keys.c.person.isnot(None), keys.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.current_timestamp())
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("roles")
        batch.drop_column("person")
