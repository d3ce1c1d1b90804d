"""The application and its entry point: ``--version``, and one error line even outside a command."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest

import escalade
from escalade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED_RUN, EXIT_OK
from tests.cli.helpers import invoke
from tests.conftest import MakeDataset


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


@pytest.mark.parametrize(
    ("command", "error", "code"),
    [
        (
            ["show", "no-such-run", "--db", "{db}"],
            "escalade.exceptions.RunNotFoundError: no stored run with id 'no-such-run' (see `escalade list`)",
            EXIT_BAD_INPUT,
        ),
        (["eval", "{dataset}"], "ZeroDivisionError: boom", EXIT_FAILED_RUN),
    ],
)
def test_entry_point_with_debug_prints_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make_dataset: MakeDataset,
    db_url: str,
    command: list[str],
    error: str,
    code: int,
) -> None:
    """``escalade --debug ...`` through main(): the error's traceback on stderr, and the exit code of its class."""

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("escalade.replay.load_dataset", boom)
    monkeypatch.setattr("escalade.cli.common._Flags.debug", False)  # restored after the test
    args = [part.format(dataset=make_dataset(), db=db_url) for part in command]
    monkeypatch.setattr("sys.argv", ["escalade", "--debug", *args])
    with pytest.raises(SystemExit) as exited:
        importlib.import_module("escalade.cli.app").main()
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.rstrip().endswith(error)
    assert "error: " not in err  # the traceback instead of the one line
