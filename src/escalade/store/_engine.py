"""One database for every repository of the store: its engine, sessions, and how failed writes are named.

:class:`Database` resolves the URL (a path, ``ESCALADE_DATABASE_URL`` or the default SQLite file),
creates the engine (SQLite: WAL, foreign keys, a 30 s write-lock wait) and migrates the schema on
open. A write the database refuses raises :class:`~escalade.exceptions.DatabaseError` naming the
database (password masked) and, when known, the run and the item; a run's first failed write is kept
until the run finishes, so that it is then stored as ``failed``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from escalade.exceptions import DatabaseError, StoreError
from escalade.store._migrate import upgrade
from escalade.store._models import Base
from escalade.store._urls import first_line, resolve_database_url

__all__ = ["Database", "engine_of"]

logger = logging.getLogger(__name__)


class Database:
    """The engine and session factory the store's repositories share (see the module docstring).

    ``url`` is a SQLAlchemy URL or a file path (default: ``ESCALADE_DATABASE_URL``, else the SQLite
    file in the user's data directory); ``migrate=False`` opens the database without upgrading it.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = resolve_database_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(f"not a database URL: {self.url!r} ({first_line(exc)})") from None
        #: The database's URL with any password masked, as errors name it.
        self.database = parsed.render_as_string(hide_password=True)
        #: The first write each run failed with, until the run finishes.
        self._failures: dict[str, DatabaseError] = {}
        self.engine: Engine = self._create_engine(parsed)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        #: This thread's connection while it writes a batch (:meth:`batch`).
        self._batch = threading.local()
        if migrate:
            try:
                upgrade(self.engine)
            except (SQLAlchemyError, CommandError) as exc:
                raise DatabaseError(f"cannot open or migrate it: {first_line(exc)}", database=self.database) from None

    def _create_engine(self, parsed: URL) -> Engine:
        sqlite = parsed.get_backend_name() == "sqlite"
        uri = parsed.query.get("uri") == "true" or str(parsed.database or "").startswith("file:")
        if sqlite and parsed.database not in (None, "", ":memory:") and not uri:
            try:  # a SQLite URI ('file:...?mode=ro') names an existing file: nothing to create
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create its folder: {exc.strerror}", database=self.database) from None
        # SQLite: writers wait up to 30 s for the write lock (the budget ledger serialises on it).
        connect_args = {"timeout": 30} if sqlite else {}
        try:
            engine = create_engine(self.url, connect_args=connect_args)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open database {self.database}: {first_line(exc)}") from None
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @contextmanager
    def batch(self) -> Iterator[Connection]:
        """One transaction for every :meth:`insert` and :meth:`session` of this thread inside, committed at
        the end: all of them are stored, or none. Inside, a refused write raises the database's own error,
        and no run is marked failed by it (the caller decides what to do with the batch)."""
        with self.engine.begin() as conn:
            self._batch.conn = conn
            try:
                yield conn
            finally:
                self._batch.conn = None

    def _batching(self) -> Connection | None:
        conn: Connection | None = getattr(self._batch, "conn", None)
        return conn

    @contextmanager
    def session(self, *, run_id: str | None = None) -> Iterator[Session]:
        """A session committed on success, rolled back on error (which names ``run_id``, if given)."""
        conn = self._batching()
        if conn is not None:  # joins the batch's transaction: its commit is the batch's
            with self._session(bind=conn, join_transaction_mode="create_savepoint") as joined:
                yield joined
                joined.commit()  # releases the session's savepoint; the batch commits the rest
            return
        with self._session() as session:
            try:
                yield session
                session.commit()
            except (SQLAlchemyError, UnicodeError) as exc:
                session.rollback()
                raise self.failed(exc, run_id=run_id) from exc

    def failed(self, exc: BaseException, *, run_id: str | None, item_id: str | None = None) -> DatabaseError:
        """The error for a failed write; a run's first one is kept, to mark the run failed when it finishes."""
        error = DatabaseError(first_line(exc), database=self.database, run_id=run_id, item_id=item_id)
        logger.warning("%s", error)
        if run_id is not None:
            self._failures.setdefault(run_id, error)
        return error

    def pop_failure(self, run_id: str) -> DatabaseError | None:
        """The first write ``run_id`` failed with, forgotten from now on; ``None`` if none failed."""
        return self._failures.pop(run_id, None)

    def insert(
        self,
        model: type[Base],
        rows: dict[str, Any] | list[dict[str, Any]],
        *,
        run_id: str | None = None,
        item_id: str | None = None,
    ) -> None:
        """Insert and commit at once (Core, not the ORM: this is the per-attempt hot path)."""
        if not rows:
            return
        conn = self._batching()
        if conn is not None:
            conn.execute(insert(model), rows)
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(model), rows)
        except (SQLAlchemyError, UnicodeError) as exc:  # UnicodeError: a lone surrogate, on either database
            raise self.failed(exc, run_id=run_id, item_id=item_id) from exc


def engine_of(source: Engine | Database) -> Engine:
    """The engine itself, or the one a :class:`Database` holds."""
    return source.engine if isinstance(source, Database) else source


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
