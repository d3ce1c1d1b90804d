"""The result store: SQLAlchemy models, Alembic migrations, and the SQL store."""

from escalade.store.base import CleanupReport, RunStore, RunSummary
from escalade.store.ledger import SqlLedger
from escalade.store.sql import SqlStore, default_database_url, resolve_database_url

__all__ = [
    "CleanupReport",
    "RunStore",
    "RunSummary",
    "SqlLedger",
    "SqlStore",
    "default_database_url",
    "resolve_database_url",
]
