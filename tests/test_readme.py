"""The README's Python example runs as written, and its commands are the ones CI uses."""

from __future__ import annotations

import re
from pathlib import Path

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
