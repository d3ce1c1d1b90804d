"""Where the database is, and how errors name it: URLs from paths and the environment, driver messages."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

__all__ = ["default_database_url", "first_line", "resolve_database_url"]


def default_database_url() -> str:
    """SQLite file in the user's data directory (``ESCALADE_DATA_DIR`` overrides the directory)."""
    folder = Path(os.environ.get("ESCALADE_DATA_DIR") or user_data_dir("escalade", appauthor=False))
    return f"sqlite:///{folder / 'escalade.db'}"


def resolve_database_url(value: str | None) -> str:
    """``value`` (a URL or a file path), else ``ESCALADE_DATABASE_URL``, else the default SQLite file."""
    value = value or os.environ.get("ESCALADE_DATABASE_URL")
    if not value:
        return default_database_url()
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def first_line(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's SQL echo and help link."""
    orig = getattr(exc, "orig", None)
    lines = (str(orig) if orig is not None else str(exc)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
