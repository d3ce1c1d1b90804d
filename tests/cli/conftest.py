"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import io

import pytest
from rich.console import Console


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stdout and stderr at a terminal, as the progress bar sees them; what is drawn on stderr is kept."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr("escalade.cli.running.err_console", lambda: console)
    monkeypatch.setattr("escalade.cli.running.out_console", lambda: Console(file=io.StringIO(), force_terminal=True))
    return screen
