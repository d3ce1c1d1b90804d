"""Structured logs of ``escalade serve``: one JSON object per line on stderr, for uvicorn and escalade alike.

Each line has ``time``, ``level``, ``logger`` and ``message``; the access log's message is itself the
request's JSON (:mod:`escalade.service._middleware`). Records never carry a prompt, an answer or a key
(the library's rule, see :mod:`escalade._logs`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from escalade.exceptions import ConfigError

__all__ = ["JsonFormatter", "log_config"]

_LEVELS = ("critical", "error", "warning", "info", "debug")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object; a message that is a JSON object is merged in rather than quoted."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        message = record.getMessage()
        if message.startswith("{"):
            try:
                parsed = json.loads(message)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                line.update(parsed)
                return json.dumps(line)
        line["message"] = message
        if record.exc_info and record.levelno >= logging.ERROR:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line)


def log_config(level: str) -> dict[str, Any]:
    """``logging.config.dictConfig`` settings for uvicorn and escalade at ``level``."""
    if level.lower() not in _LEVELS:
        raise ConfigError(f"must be one of {', '.join(_LEVELS)}, got {level!r}", field="--log-level")
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "escalade.service._logging.JsonFormatter"}},  # a name: worker processes import it
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "escalade": {"handlers": ["stderr"], "level": upper, "propagate": False},
        },
    }
