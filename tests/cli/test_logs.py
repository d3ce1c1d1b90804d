"""``escalade -v``/``-vv`` and ``ESCALADE_LOG_LEVEL``: escalade's records on stderr, a bad level refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from escalade.cli.common import EXIT_BAD_INPUT, EXIT_OK
from escalade.cli.logs import configure_logging
from tests.cli.helpers import invoke
from tests.conftest import MakeDataset

TASK = "Implement JWT authentication with OAuth2"


@pytest.fixture(autouse=True)
def _logging_reset() -> Iterator[None]:
    """Each test leaves escalade's logger as it found it (no CLI handler, no level)."""
    yield
    configure_logging(None)


def _lines(err: str, level: str) -> list[str]:
    return [line for line in err.splitlines() if f" {level} escalade." in line]


def test_vv_shows_debug_records_on_stderr(make_dataset: MakeDataset, db_url: str) -> None:
    """``-vv`` writes escalade's debug records to stderr: the route decision, each escalation and the run's end."""
    code, out, err = invoke("-vv", "route", TASK)
    assert code == EXIT_OK, err
    assert any("route: start tier 'premium'" in line for line in _lines(err, "DEBUG"))
    assert "DEBUG" not in out
    code, _, err = invoke("-vv", "run", str(make_dataset()), "--db", db_url)
    assert code == EXIT_OK, err
    assert any("escalates cheap -> " in line for line in _lines(err, "DEBUG"))
    assert any(" finished " in line for line in _lines(err, "INFO"))
    assert any("saved to" in line for line in _lines(err, "INFO"))


def test_v_shows_info_but_not_debug(make_dataset: MakeDataset, db_url: str) -> None:
    """One ``-v`` is info: the run's start and end, never the per-decision debug records."""
    code, _, err = invoke("--verbose", "run", str(make_dataset()), "--db", db_url)
    assert code == EXIT_OK, err
    assert any(" started: " in line for line in _lines(err, "INFO"))
    assert not _lines(err, "DEBUG")


def test_without_a_flag_nothing_is_logged(make_dataset: MakeDataset, db_url: str) -> None:
    """With no flag and no ESCALADE_LOG_LEVEL, stderr carries no log record."""
    code, _, err = invoke("run", str(make_dataset()), "--db", db_url)
    assert code == EXIT_OK, err
    assert not any(f" {level} escalade." in err for level in ("DEBUG", "INFO", "WARNING"))


@pytest.mark.parametrize(("value", "shown"), [("debug", "DEBUG"), ("INFO", "INFO")])
def test_the_variable_sets_the_level(value: str, shown: str) -> None:
    """ESCALADE_LOG_LEVEL turns logging on without a flag (any case)."""
    code, _, err = invoke("route", TASK, env={"ESCALADE_LOG_LEVEL": value})
    assert code == EXIT_OK, err
    assert bool(_lines(err, "DEBUG")) == (shown == "DEBUG")


def test_the_flag_wins_over_the_variable() -> None:
    """``-vv`` with ESCALADE_LOG_LEVEL=ERROR still shows debug records."""
    code, _, err = invoke("-vv", "route", TASK, env={"ESCALADE_LOG_LEVEL": "ERROR"})
    assert code == EXIT_OK, err
    assert _lines(err, "DEBUG")


def test_a_bad_level_is_bad_input_naming_the_variable() -> None:
    """ESCALADE_LOG_LEVEL=nonsense is one error line naming the variable, and exit code 2."""
    code, out, err = invoke("route", TASK, env={"ESCALADE_LOG_LEVEL": "nonsense"})
    assert code == EXIT_BAD_INPUT
    assert err.strip() == (
        "error: environment variable ESCALADE_LOG_LEVEL: 'nonsense' is not a log level; "
        "use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
    assert out == ""


def test_only_escalade_loggers_get_the_handler() -> None:
    """The CLI's handler goes on the ``escalade`` logger; the root logger and the SDKs' loggers are untouched."""
    root = logging.getLogger()
    before = list(root.handlers), root.level
    configure_logging(logging.DEBUG)
    assert (list(root.handlers), root.level) == before
    assert logging.getLogger("escalade").level == logging.DEBUG
    configure_logging(logging.INFO)
    assert len([h for h in logging.getLogger("escalade").handlers if not isinstance(h, logging.NullHandler)]) == 1


def test_log_variables_are_not_config_typos(make_dataset: MakeDataset, db_url: str) -> None:
    """ESCALADE_LOG_LEVEL and ESCALADE_LOG_CONTENT are read elsewhere, so the config loader accepts them."""
    env = {"ESCALADE_LOG_LEVEL": "WARNING", "ESCALADE_LOG_CONTENT": "1"}
    code, _, err = invoke("run", str(make_dataset()), "--db", db_url, env=env)
    assert code == EXIT_OK, err
