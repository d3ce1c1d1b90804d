"""The service's JSON log lines and uvicorn's log configuration."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from escalade.exceptions import ConfigError
from escalade.service._logging import JsonFormatter, log_config


def _record(message: str, *args: object, level: int = logging.INFO, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("escalade.test", level, __file__, 1, message, args, info)


def test_a_record_is_one_json_object() -> None:
    line = json.loads(JsonFormatter().format(_record("hello %s", "world")))
    assert line["message"] == "hello world"
    assert line["level"] == "info"
    assert line["logger"] == "escalade.test"
    assert line["time"].endswith("+00:00")


def test_a_json_message_is_merged_not_quoted() -> None:
    line = json.loads(JsonFormatter().format(_record("%s", json.dumps({"event": "request", "status": 200}))))
    assert line["event"] == "request"
    assert line["status"] == 200
    assert "message" not in line


@pytest.mark.parametrize("message", ["{not json", "[1, 2]", '{"a": 1} trailing'])
def test_a_message_that_only_looks_like_json_is_kept_as_text(message: str) -> None:
    assert json.loads(JsonFormatter().format(_record("%s", message)))["message"] == message


def test_an_error_carries_its_exception_line_not_the_traceback() -> None:
    line = json.loads(JsonFormatter().format(_record("failed", level=logging.ERROR, exc=True)))
    assert line["error"] == "ValueError: boom"
    assert "Traceback" not in json.dumps(line)


def test_log_config_sets_every_logger_to_json() -> None:
    config = log_config("debug")
    assert config["formatters"]["json"]["()"] == f"{JsonFormatter.__module__}.{JsonFormatter.__qualname__}"
    assert {name: c["level"] for name, c in config["loggers"].items()} == {
        "uvicorn": "DEBUG",
        "uvicorn.error": "DEBUG",
        "escalade": "DEBUG",
    }


def test_a_bad_log_level_names_the_option() -> None:
    with pytest.raises(ConfigError, match="--log-level"):
        log_config("loud")
