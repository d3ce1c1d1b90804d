"""Shared pieces of the CLI: error handling, consoles, the ``--db`` option."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from escalade.exceptions import EscalationError
from escalade.store.sql import SqlStore

__all__ = ["DbOption", "JsonOption", "err_console", "handle_errors", "open_store", "out_console"]

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_FAILED_RUN = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


@functools.cache
def out_console() -> Console:
    """Console for results (wide when piped, so tables are not cut)."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


@functools.cache
def err_console() -> Console:
    """Console for progress and errors."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL or SQLite file path (default: ESCALADE_DATABASE_URL or the user data dir)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as one error line and return the exit to raise."""
    err_console().print(f"error: {message}", markup=False)
    return typer.Exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn escalade's errors into one clear line and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except EscalationError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper


def open_store(db: str | None) -> SqlStore:
    """The store at ``db`` (schema created or upgraded)."""
    return SqlStore(db)


def print_json(text: str) -> None:
    """Write JSON to stdout unstyled."""
    sys.stdout.write(text + "\n")
