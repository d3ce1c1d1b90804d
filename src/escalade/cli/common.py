"""Shared pieces of the CLI: error handling and exit codes, consoles, the ``--db`` option (alias ``--storage-path``).

Every command exits with one of these codes (the README's "Exit codes" table says the same):

====  ====================  ==========================================================================
code  name                  meaning
====  ====================  ==========================================================================
0     ``EXIT_OK``           done
1     ``EXIT_FAILED_RUN``   the work ran but failed or stopped: a budget or approval stop, nothing
                            answered (every call failed, a provider down), ``audit verify`` finding
                            an entry or row edited, removed or moved (or, with a key, nothing sealed
                            with it), an unexpected error
2     ``EXIT_BAD_INPUT``    bad input: usage, a malformed dataset, config, rule file, router artifact
                            or answers file, an unknown run id, a ``--plot`` path that cannot be
                            written, a missing or wrong ``ESCALADE_AUDIT_KEY``, an unknown
                            ``ESCALADE_LOG_LEVEL``
3     ``EXIT_ENVIRONMENT``  the environment failed: the database unreachable, full, read-only or not
                            a database, the store or budget ledger failing mid-run, a full disk or
                            another operating-system error, out of memory, no sandbox (or a broken one)
130   ``EXIT_INTERRUPTED``  interrupted (Ctrl-C or SIGTERM)
====  ====================  ==========================================================================
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from escalade.exceptions import (
    BudgetUnavailableError,
    DatabaseError,
    EscaladeError,
    ListenerError,
    ProviderError,
    RunStoppedError,
    SandboxError,
)

if TYPE_CHECKING:
    from escalade.store import SqlStore

__all__ = [
    "DEFAULT_PROFILE",
    "EXIT_BAD_INPUT",
    "EXIT_ENVIRONMENT",
    "EXIT_FAILED_RUN",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "DbOption",
    "JsonOption",
    "debugging",
    "err_console",
    "exit_code",
    "fail",
    "handle_errors",
    "open_store",
    "out_console",
    "set_debug",
    "unexpected",
]

#: ``escalade.autonomy.DEFAULT_PROFILE``, the default of ``decide --profile``, named here too so that
#: ``--help`` shows it without loading the autonomy engine (pydantic, SciPy); a test keeps the two equal.
DEFAULT_PROFILE = "balanced"

EXIT_OK = 0
EXIT_FAILED_RUN = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130

#: Errors of the environment rather than of the input or the run.
_ENVIRONMENT = (DatabaseError, ListenerError, BudgetUnavailableError, SandboxError, ProviderError, OSError, MemoryError)

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def out_console() -> Console:
    """Console for results (wide when piped, so tables are not cut)."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


@functools.cache
def err_console() -> Console:
    """Console for progress and errors."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


#: ``--db``; ``--storage-path`` is seed 000's name for it (a SQLite file path).
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        "--storage-path",
        help="Database URL or SQLite file path (default: ESCALADE_DATABASE_URL or the user data dir).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def exit_code(error: BaseException) -> int:
    """The exit code for ``error`` (see the module docstring); Ctrl-C, and SIGTERM's cancellation, are interrupts."""
    import asyncio

    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
        return EXIT_INTERRUPTED
    if isinstance(error, _ENVIRONMENT):
        return EXIT_ENVIRONMENT
    if isinstance(error, RunStoppedError):
        return EXIT_FAILED_RUN
    if isinstance(error, EscaladeError):
        return EXIT_BAD_INPUT
    return EXIT_FAILED_RUN


class _Flags:
    """Global options of the current invocation."""

    debug = False


def set_debug(on: bool) -> None:
    """Show tracebacks (``--debug``) for the rest of this invocation, or not."""
    _Flags.debug = on


def debugging() -> bool:
    """Whether errors keep their traceback: ``--debug`` was given or ``ESCALADE_DEBUG`` is set to 1."""
    return _Flags.debug or os.environ.get("ESCALADE_DEBUG", "").strip().lower() in {"1", "true", "yes"}


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``message`` as one error line and return the exit to raise."""
    err_console().print(f"error: {message}", markup=False)
    return typer.Exit(code)


def unexpected(error: BaseException) -> typer.Exit:
    """The last resort for an error escalade did not expect: one line naming it, and the exit to raise."""
    detail = " ".join(str(error).split()) or ("out of memory" if isinstance(error, MemoryError) else "no message")
    hint = "(run with --debug for the traceback)"
    return fail(f"unexpected {type(error).__name__}: {detail} {hint}", exit_code(error))


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn every error into one clear line and its exit code, never a traceback (unless ``--debug``)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt as interrupt:
            raise fail("interrupted", exit_code(interrupt)) from None
        except Exception as exc:
            if debugging():
                raise
            if isinstance(exc, EscaladeError):
                raise fail(str(exc), exit_code(exc)) from None
            raise unexpected(exc) from None

    return wrapper


def open_store(db: str | None) -> SqlStore:
    """The store at ``db`` (schema created or upgraded)."""
    from escalade.store import SqlStore

    return SqlStore(db)


def print_json(text: str) -> None:
    """Write JSON to stdout unstyled."""
    sys.stdout.write(text + "\n")
