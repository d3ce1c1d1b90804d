"""Logging for the command line: ``-v`` (info), ``-vv`` (debug) or ``ESCALADE_LOG_LEVEL``, on stderr.

Only the CLI configures logging, and only escalade's own loggers: its handler goes on the
``escalade`` logger, never on the root one, so the records of the SDKs and libraries beneath
(``openai``, ``httpx``, ``sqlalchemy``, ...) stay off unless an application turns them on. The flag
wins over the variable; with neither, nothing is shown. What is logged at each level, and the rule
that keeps prompts, answers and keys out of every record, are in :mod:`escalade._logs`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from escalade._logs import LOG_LEVEL_ENV
from escalade.exceptions import ConfigError

__all__ = ["LEVELS", "configure_logging", "log_level"]

#: The names ``ESCALADE_LOG_LEVEL`` accepts (any case).
LEVELS: Mapping[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Stderr(logging.Handler):
    """Writes each record to ``sys.stderr`` as it is at that moment.

    So a record goes through Rich's redirection while a progress bar is drawn, and through the
    stream a test runner swapped in, rather than to a stream that was replaced or closed.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def log_level(verbose: int, environ: Mapping[str, str] = os.environ) -> int | None:
    """The level asked for: ``-v`` info, ``-vv`` debug, else ``ESCALADE_LOG_LEVEL``, else ``None`` (no logging).

    An unknown name in the variable is a :class:`~escalade.exceptions.ConfigError` naming it, even
    when a flag was given.

    >>> log_level(2, {}), log_level(0, {"ESCALADE_LOG_LEVEL": "warning"}), log_level(0, {})
    (10, 30, None)
    """
    raw = environ.get(LOG_LEVEL_ENV, "").strip()
    level = LEVELS.get(raw.upper()) if raw else None
    if raw and level is None:
        raise ConfigError(
            f"{raw!r} is not a log level; use one of {', '.join(LEVELS)}",
            source=f"environment variable {LOG_LEVEL_ENV}",
        )
    if verbose:
        return logging.DEBUG if verbose >= 2 else logging.INFO
    return level


def configure_logging(level: int | None) -> None:
    """Show escalade's records at ``level`` and above on stderr (``None``: none), replacing an earlier setting."""
    logger = logging.getLogger("escalade")
    for handler in [h for h in logger.handlers if isinstance(h, _Stderr)]:
        logger.removeHandler(handler)
    if level is None:
        logger.setLevel(logging.NOTSET)
        return
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(level)
