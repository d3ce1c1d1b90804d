"""Alembic migrations of the result store (ordered, named revisions under ``versions/``)."""
