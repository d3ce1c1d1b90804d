"""The README's Python example runs as written, and its commands are the ones CI uses."""

from __future__ import annotations

import re
import shlex
import subprocess
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


def _ignored(path: str) -> bool:
    """Whether git ignores ``path`` (relative to the repository's root; a folder ends with ``/``)."""
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False, timeout=60)
    assert done.returncode in (0, 1), f"git check-ignore failed on {path!r}"
    return done.returncode == 0


def test_gitignore_covers_what_documented_commands_write() -> None:
    """Files and folders the README's and docs' commands write (--plot, --out) are ignored by git."""
    documents = [README] + [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))]
    found = re.findall(r"escalade (\w+)[^`\n]*?--(?:plot|out) ([\w./-]+)", "\n".join(documents))
    written = {path + ("/" if command == "testgen" else "") for command, path in found if not path.isupper()}
    assert {"gsm8k.png", "generated_tests/", "router.json"} <= written  # testgen's --out is a folder
    assert [path for path in sorted(written) if not _ignored(path)] == []
