"""``escalade router fit|show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalade.cli import app
from tests.conftest import MakeDataset

runner = CliRunner()


def test_fit_then_show(shared_benchmarks: Path, tmp_path: Path) -> None:
    """fit writes an artifact on the train split; show reads it back with the same summary."""
    out = tmp_path / "arc.json"
    fitted = runner.invoke(
        app, ["router", "fit", str(shared_benchmarks / "routerbench-arc"), "--out", str(out), "--json"]
    )
    assert fitted.exit_code == 0, fitted.stderr
    summary = json.loads(fitted.stdout)
    assert summary["metadata"]["split"] == "train"
    assert summary["metadata"]["rows"] == 1039
    assert summary["premium_model"] == "gpt-4-1106-preview"
    assert len(summary["terms_towards_premium"]) == 10
    shown = runner.invoke(app, ["router", "show", str(out), "--json"])
    assert json.loads(shown.stdout) == summary
    assert "terms_towards_cheap" in runner.invoke(app, ["router", "show", str(out)]).stdout


def test_fit_share_zero_routes_nothing_to_premium(make_dataset: MakeDataset, tmp_path: Path) -> None:
    """A strong share of 0 puts the cutoff above every fitted priority."""
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["router", "fit", str(make_dataset()), "--out", str(out), "--strong-share", "0"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["cutoff"] > 0


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--cheap", "nope"], "unknown model 'nope'"),
        (["--strong-share", "2"], "--strong-share must be in"),
        (["--split", "dev"], "no split 'dev'"),
    ],
)
def test_fit_errors(make_dataset: MakeDataset, tmp_path: Path, args: list[str], pattern: str) -> None:
    """Unknown models and splits and bad shares are one error line."""
    result = runner.invoke(app, ["router", "fit", str(make_dataset()), "--out", str(tmp_path / "r.json"), *args])
    assert result.exit_code == 2
    assert pattern in result.stderr


def test_show_missing_artifact(tmp_path: Path) -> None:
    """Showing a missing artifact is one error line naming it."""
    result = runner.invoke(app, ["router", "show", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "router artifact not found" in result.stderr
