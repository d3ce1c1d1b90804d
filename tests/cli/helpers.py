"""Running the CLI in-process for tests."""

from __future__ import annotations

from typer.testing import CliRunner

from escalade.cli import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``escalade ARGS``, with ``env`` added and ``stdin`` as standard input."""
    result = runner.invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr
