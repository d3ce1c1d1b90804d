"""The README's Python example runs as written, and its commands are the ones CI uses."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run() -> None:
    """Every ```python block in the README executes without error."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_ci_runs_the_readme_test_command() -> None:
    """The README's test command is what .ci/run runs."""
    assert "./scripts/install && ./scripts/test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/install" in ci
    assert "./scripts/test" in ci
