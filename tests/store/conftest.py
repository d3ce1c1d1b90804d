"""Store tests run against both SQLite and a real PostgreSQL server (127.0.0.1:5432, trust auth).

Each PostgreSQL test gets a fresh database, dropped afterwards. If the server cannot be reached the
tests fail, never skip: CI must prove the PostgreSQL store works (``.ci/run`` starts the server).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from escalade.store import SqlStore

POSTGRES_ADMIN_URL = os.environ.get("ESCALADE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgres(prefix: str = "escalade_test_") -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards; the test fails when the server cannot be reached."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL store tests need a server at {POSTGRES_ADMIN_URL}: {exc.orig}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'escalade.db'}"
        return
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    """A store on the fresh database, closed after the test."""
    with SqlStore(db_url) as opened:
        yield opened
