"""What the commands that run the ladder share: the progress bar's rule, the interrupted run's handler."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalade.cli.common import EXIT_INTERRUPTED, exit_code
from escalade.cli.running import interrupted
from escalade.ladder import EscalationConfig
from escalade.store import SqlStore
from tests.cli.helpers import invoke
from tests.conftest import MakeDataset

TESTS_OF_DOUBLE = "```python\nfrom tiny import double\n\ndef test_double():\n    assert double(2) == 4\n```\n"


def _testgen_args(tmp_path: Path) -> list[str]:
    """``testgen`` of a one-function module, from recorded answers that pass at once."""
    target = tmp_path / "project" / "tiny.py"
    target.parent.mkdir()
    target.write_text("def double(x):\n    return 2 * x\n", encoding="utf-8")
    answers = tmp_path / "answers.json"
    recorded = {"double": {"gpt-4o-mini": TESTS_OF_DOUBLE + "# confidence: 0.9\n"}}
    answers.write_text(
        json.dumps({"format": "escalade-testgen-answers/1", "tiers": {"cheap": ["gpt-4o-mini"]}, "answers": recorded}),
        encoding="utf-8",
    )
    return ["testgen", str(target), "--answers", str(answers), "--out", str(tmp_path / "kept")]


@pytest.mark.parametrize("json_out", [False, True])
@pytest.mark.parametrize(("command", "bar"), [("run", "items"), ("testgen", "items"), ("eval", "policy")])
def test_progress_bar_only_for_text_at_a_terminal(
    terminal: io.StringIO,
    make_dataset: MakeDataset,
    tmp_path: Path,
    db_url: str,
    command: str,
    bar: str,
    json_out: bool,
) -> None:
    """run, testgen and eval draw their bar at a terminal, and never under --json (the output is for a program)."""
    args = {
        "run": ["run", str(make_dataset()), "--db", db_url],
        "testgen": [*_testgen_args(tmp_path), "--db", db_url],
        "eval": ["eval", str(make_dataset()), "--policy", "big"],
    }[command]
    code, out, err = invoke(*args, *(["--json"] if json_out else []))
    assert code == 0, err
    assert (bar in terminal.getvalue()) is not json_out
    if json_out:
        json.loads(out)  # nothing but the JSON object on stdout


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), asyncio.CancelledError()])
def test_interrupted_run_is_marked_and_exits_130(
    db_url: str, capsys: pytest.CaptureFixture[str], interrupt: BaseException
) -> None:
    """Ctrl-C (or SIGTERM's cancellation) mid-run: the run is stored interrupted, one line says where its work is."""
    store = SqlStore(db_url)
    store.on_run_started("run-1", "replay", EscalationConfig(), 3)
    stop = interrupted(store, "run-1", interrupt)
    assert stop.exit_code == exit_code(interrupt) == EXIT_INTERRUPTED
    summary = store.get_run("run-1")
    assert summary.status == "interrupted"
    assert summary.finished_at is not None
    assert summary.finished_at <= datetime.now(UTC)
    assert capsys.readouterr().err.strip() == (
        "error: interrupted: run run-1 keeps its finished attempts (escalade show run-1)"
    )
    store.close()
