"""The application and its entry point: ``--version``, and one error line even outside a command."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest

import escalade
from escalade.cli.common import EXIT_FAILED_RUN, EXIT_OK
from tests.cli.helpers import invoke


def test_version_prints_the_package_version() -> None:
    """``escalade --version`` prints the installed package's version and exits 0."""
    code, out, _ = invoke("--version")
    assert code == EXIT_OK
    assert out.strip() == f"escalade {version('escalade')}"


def test_version_matches_the_package() -> None:
    """The distribution's version and ``escalade.__version__`` agree."""
    assert version("escalade") == escalade.__version__


def test_entry_point_turns_an_unexpected_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error raised outside any command (e.g. while Typer builds it) is one line from main()."""

    def broken(**kwargs: object) -> None:
        raise LookupError("no such thing")

    app_module = importlib.import_module("escalade.cli.app")  # the package's `app` is the Typer object
    monkeypatch.setattr(app_module, "app", broken)
    monkeypatch.setattr("sys.argv", ["escalade", "list"])
    with pytest.raises(SystemExit) as exited:
        app_module.main()
    assert exited.value.code == EXIT_FAILED_RUN
    assert capsys.readouterr().err.strip() == (
        "error: unexpected LookupError: no such thing (run with --debug for the traceback)"
    )
