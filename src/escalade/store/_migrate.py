"""Create or upgrade a database's schema with the packaged Alembic migrations."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

__all__ = ["current_revision", "head_revision", "upgrade"]

logger = logging.getLogger(__name__)

_SCRIPTS = str(Path(__file__).with_name("migrations"))
_LOCK_KEY = 0x65736361  # "esca": advisory lock id for schema migrations


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPTS)
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, attempts: int = 5) -> None:
    """Migrate ``engine``'s database to ``revision`` (the latest by default).

    Safe when several processes open a fresh database at once: PostgreSQL serialises migrations
    with an advisory lock; elsewhere a migration that lost the race is retried after the winner's
    schema is visible.
    """
    cfg = _config()
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                cfg.attributes["connection"] = connection
                before = MigrationContext.configure(connection).get_current_revision()
                command.upgrade(cfg, revision)
                after = MigrationContext.configure(connection).get_current_revision()
            if before != after:
                logger.info("database schema migrated from %s to %s", before or "empty", after)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            if revision == "head" and current_revision(engine) == head_revision():
                logger.debug("another process migrated the database first")
                return  # another process finished the same migration
            if attempt == attempts:
                raise
            logger.warning("migration attempt %d of %d failed (%s); retrying", attempt, attempts, type(exc).__name__)
            time.sleep(0.05 * attempt)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest packaged revision."""
    return ScriptDirectory.from_config(_config()).get_current_head()
