"""The README's Python example runs as written, and its commands are the ones CI uses."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalade.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run() -> None:
    """Every ```python block in the README and in docs/ executes without error."""
    documents = [("README.md", README)] + [(p.name, p.read_text()) for p in sorted((ROOT / "docs").glob("*.md"))]
    for name, text in documents:
        for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
            exec(compile(block, name, "exec"), {})
    assert re.search(r"```python\n", README)


def test_ci_runs_the_readme_test_command() -> None:
    """The README's test command is what .ci/run runs."""
    assert "./scripts/install && ./scripts/test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/install" in ci
    assert "./scripts/test" in ci


def test_route_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every inline `escalade route ...` example of the README and docs/ runs as written, from the repository root."""
    monkeypatch.chdir(ROOT)
    documents = [README] + [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))]
    examples = [command for text in documents for command in re.findall(r"`(escalade route [^`]+)`", text)]
    assert examples
    for command in examples:
        result = CliRunner().invoke(app, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}: {result.stderr}"


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether ``.gitignore``'s ``patterns`` cover ``path``, written at the repository's root (simple rules only)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for pattern in patterns:
        target = path.rstrip("/") if pattern.startswith("/") else name
        if fnmatch.fnmatch(target, pattern.strip("/")):
            return True
    return False


def test_gitignore_covers_what_documented_commands_write() -> None:
    """Files and folders the README's and docs' commands write (--plot, --out) are ignored by git."""
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    documents = [README] + [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))]
    written = {m for text in documents for m in re.findall(r"--(?:plot|out) ([\w./-]+)", text) if not m.isupper()}
    assert {"gsm8k.png", "generated_tests", "router.json"} <= written
    assert [path for path in sorted(written) if not _ignored(path, patterns)] == []
