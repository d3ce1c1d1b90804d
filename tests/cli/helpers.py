"""Running the CLI in-process for tests."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from escalade.cli import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``escalade ARGS``, with ``env`` added and ``stdin`` as standard input."""
    result = runner.invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def json_lines(*items: dict[str, Any] | str) -> str:
    """``items`` as standard input of JSON lines (a string is written as it is, malformed on purpose)."""
    return "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n"


def answers(out: str) -> list[dict[str, Any]]:
    """The JSON lines a command printed."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]
