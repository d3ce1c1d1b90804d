"""How escalade logs: one standard logger per module, and the opt-in that lets content in.

Every module that decides or does I/O logs through ``logging.getLogger(__name__)``, under the
``escalade`` logger: debug for each routing, escalation and budget decision with its reasons, info
for a run's start and end (and other lasting changes: migrations, saved runs, cleanups), warning for
fallbacks and retries. The library never configures logging: the package adds a ``NullHandler`` to
the ``escalade`` logger, and the CLI (``escalade -v``/``-vv``, ``ESCALADE_LOG_LEVEL``) attaches its
stderr handler to that logger alone.

No record carries a prompt, an answer, a decision's description or an API key, at any level. A user
who wants the content in their logs (to debug a scorer, say) sets ``ESCALADE_LOG_CONTENT=1``: the
few records :func:`debug_content` makes then appear at debug. Keys never appear, opt-in or not.

>>> logger = logging.getLogger("escalade.example")
>>> debug_content(logger, "prompt: %r", "the prompt")  # a record only with ESCALADE_LOG_CONTENT=1 and debug on
"""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_CONTENT_ENV", "LOG_LEVEL_ENV", "content_logged", "debug_content"]

#: Set to ``1`` to let prompts, answers and decision descriptions into debug records.
LOG_CONTENT_ENV = "ESCALADE_LOG_CONTENT"
#: The CLI's log level when no ``-v`` is given (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``, ``CRITICAL``).
LOG_LEVEL_ENV = "ESCALADE_LOG_LEVEL"

_TRUE = frozenset({"1", "true", "yes"})


def content_logged() -> bool:
    """Whether the user opted in to content (prompts, answers, descriptions) in debug records."""
    return os.environ.get(LOG_CONTENT_ENV, "").strip().lower() in _TRUE


def debug_content(logger: logging.Logger, msg: str, *args: object) -> None:
    """Log ``msg`` (which shows content) at debug, only when debug is on and the user opted in."""
    if logger.isEnabledFor(logging.DEBUG) and content_logged():
        logger.debug(msg, *args, stacklevel=2)
