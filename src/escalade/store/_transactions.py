"""One database transaction, the same way for every SQL part of the store.

A writing transaction on SQLite takes the write lock at once (``BEGIN IMMEDIATE``), so a
read-then-write inside it cannot interleave with another writer; PostgreSQL relies on row locks
(``SELECT ... FOR UPDATE``, conditional ``UPDATE``). A ``snapshot`` read sees the database as it was
at its first statement throughout (a deferred ``BEGIN`` on SQLite, ``REPEATABLE READ`` on
PostgreSQL), so reads of several tables agree with each other. Database errors become
:class:`~escalade.exceptions.DatabaseError` naming the database and what failed; escalade's own
errors raised inside the block pass through unchanged, after the rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from escalade.exceptions import DatabaseError
from escalade.store._urls import first_line

__all__ = ["transaction"]


@contextmanager
def transaction(engine: Engine, *, write: bool = True, snapshot: bool = False, what: str) -> Iterator[Connection]:
    """A transaction committed when the block ends, rolled back if it raises; ``what`` names it in errors."""
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as raw:
            if not (sqlite and (write or snapshot)):
                isolated = raw.execution_options(isolation_level="REPEATABLE READ") if snapshot else raw
                with isolated.begin():
                    yield isolated
                return
            conn = raw.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    except (SQLAlchemyError, OverflowError) as exc:
        raise DatabaseError(
            f"{what}: {first_line(exc)}", database=engine.url.render_as_string(hide_password=True)
        ) from exc
