"""Alembic environment: migrates the connection handed over by :func:`escalade.store._migrate.upgrade`."""

from __future__ import annotations

from alembic import context

from escalade.store._models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
