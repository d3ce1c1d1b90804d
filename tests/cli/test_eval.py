"""``escalade eval``: JSON report, policy selection, determinism, one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from escalade.cli import app
from tests.conftest import TINY_MODELS, MakeDataset, row

runner = CliRunner()


def test_eval_json_on_tiny_dataset(make_dataset: MakeDataset) -> None:
    """Without --policy every built-in runs; the JSON has the promised fields and is seeded."""
    args = ["eval", str(make_dataset()), "--json", "--seed", "4"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["rows"] == 4
    assert data["premium_model"] == "big"
    names = [p["name"] for p in data["policies"]]
    assert names == [
        "small-a",
        "small-b",
        "mid",
        "big",
        "random-mix",
        "oracle",
        "cascade-consensus",
        "prerouter-tfidf-lr",
        "cascade-verifier-tfidf-lr",
        "cascade-verifier-certified",
        "cascade-chain-verifier",
    ]
    assert {p["kind"] for p in data["policies"]} == {"single", "random", "oracle", "cascade", "router"}
    assert json.loads(runner.invoke(app, args).stdout) == data


def test_eval_policy_selection_and_table(make_dataset: MakeDataset) -> None:
    """--policy picks policies in the order given; the text table names them."""
    result = runner.invoke(app, ["eval", str(make_dataset()), "--policy", "oracle", "--policy", "big"])
    assert result.exit_code == 0
    assert "oracle" in result.stdout
    assert "savings @95%" in result.stdout
    data = json.loads(runner.invoke(app, ["eval", str(make_dataset()), "--policy", "oracle", "--json"]).stdout)
    assert [p["name"] for p in data["policies"]] == ["oracle"]


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--policy", "magic"], "unknown policy 'magic'; available: small-a"),
        (["--target-quality", "0"], "--target-quality must be in"),
        (["--split", "train"], "no split 'train'"),
    ],
)
def test_eval_errors(make_dataset: MakeDataset, args: list[str], pattern: str) -> None:
    """Bad options are one error line with exit code 2."""
    result = runner.invoke(app, ["eval", str(make_dataset()), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert pattern in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_eval_on_shared_two_model_dataset(shared_benchmarks: Path) -> None:
    """On a two-model dataset the RouteLLM metrics are reported for the random mix."""
    result = runner.invoke(app, ["eval", str(shared_benchmarks / "routellm-gsm8k"), "--json", "--policy", "random-mix"])
    policy = json.loads(result.stdout)["policies"][0]
    assert 0.4 < policy["apgr"] < 0.6  # a random mix recovers about half the gap
    assert policy["cpt50"] is not None
    assert len(policy["curve"]) == 11


def test_eval_plot_writes_png(make_dataset: MakeDataset, tmp_path: Path) -> None:
    """--plot writes a PNG; an unwritable path is one error line."""
    out = tmp_path / "curves.png"
    result = runner.invoke(app, ["eval", str(make_dataset()), "--plot", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(app, ["eval", str(make_dataset()), "--plot", str(tmp_path / "no" / "dir" / "x.png")])
    assert bad.exit_code == 2
    assert "cannot write the plot" in bad.stderr


def test_run_and_eval_explain_the_same_premium_baseline(make_dataset: MakeDataset, db_url: str) -> None:
    """A row with no premium outcome: eval's premium cost leaves it out, run fills it at the mean; both say so."""
    rows = [
        row("q1", "Q1?", {"small-a": (1, 0.001, "A"), "small-b": (1, 0.002, "A"), "big": (1, 0.1, "A")}),
        row("q2", "Q2?", {"small-a": (1, 0.001, "B"), "small-b": (1, 0.002, "B"), "big": (1, 0.3, "B")}),
        row("q3", "Q3?", {"small-a": (1, 0.001, "C"), "small-b": (1, 0.002, "C")}),  # no outcome of big
    ]
    dataset = make_dataset(rows, models={m: TINY_MODELS[m] for m in ("small-a", "small-b", "big")})
    result = runner.invoke(app, ["eval", str(dataset), "--json", "--policy", "big"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["premium_cost_usd"] == pytest.approx(0.4)  # q1 + q2
    assert (data["premium_rows_without_outcome"], data["premium_cost_usd_filled"]) == (1, pytest.approx(0.6))
    text = runner.invoke(app, ["eval", str(dataset), "--policy", "big"]).stdout
    assert "cost $0.4000 over the 2 rows it has an outcome for" in text
    assert "1 row has none; `escalade run` counts it at the mean, $0.6000" in text
    run = runner.invoke(app, ["run", str(dataset), "--db", db_url, "--json"])
    assert run.exit_code == 0, run.stderr
    ran = json.loads(run.stdout)
    assert ran["premium_baseline_cost"] == pytest.approx(data["premium_cost_usd_filled"])  # every row answered
    assert any(
        "1 of 3 rows have no recorded outcome of big" in n and "`escalade eval` leaves them out ($0.400000)" in n
        for n in ran["notes"]
    ), ran["notes"]


@pytest.mark.parametrize(("args", "shown"), [([], True), (["--json"], False)])
def test_eval_progress_only_at_a_terminal(
    make_dataset: MakeDataset, terminal: io.StringIO, args: list[str], shown: bool
) -> None:
    """At a terminal eval shows which policy it is on and how far it is; never with --json."""
    result = runner.invoke(app, ["eval", str(make_dataset()), "--policy", "oracle", "--policy", "big", *args])
    assert result.exit_code == 0, result.stderr
    assert ("policy oracle" in terminal.getvalue()) is shown
    assert ("policy big" in terminal.getvalue()) is shown


def test_eval_shows_no_progress_when_piped(make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """With output piped (stderr still a terminal), no progress bar is drawn."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr("escalade.cli.running.err_console", lambda: console)
    result = runner.invoke(app, ["eval", str(make_dataset()), "--policy", "oracle"])
    assert result.exit_code == 0, result.stderr
    assert screen.getvalue() == ""
