"""``escalade calibrate``: certified thresholds on recorded outcomes, checked on held-out rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalade.cli import app
from tests.conftest import MakeDataset

runner = CliRunner()


def test_calibrate_gsm8k_quality_json(shared_benchmarks: Path) -> None:
    """The default target (95% of premium, delta 0.1) certifies on GSM8K and holds on the check rows."""
    result = runner.invoke(app, ["calibrate", str(shared_benchmarks / "routellm-gsm8k"), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["certified"] is True
    assert data["target_held"] is True
    assert data["fit_rows"] + data["calibration_rows"] + data["check_rows"] == 1319
    assert data["check_quality"] >= 0.95 * data["check_premium_quality"]
    assert 0 < data["check_cost_ratio"] < 1


def test_calibrate_share_router_and_table(shared_benchmarks: Path) -> None:
    """A share target is calibrated without a guarantee; the text output is a table."""
    args = ["calibrate", str(shared_benchmarks / "routerbench-arc"), "--kind", "router", "--strong-share", "0.2"]
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert data["certified"] is False
    assert data["target_held"] is None
    assert data["calibration_accepted_share"] == pytest.approx(0.8, abs=0.01)
    assert data["dropped_rows"] == 6  # rows where Yi or GPT-4 has no outcome
    assert "no quality guarantee" in runner.invoke(app, args).stdout


def test_calibrate_uncertifiable_escalates_everything(make_dataset: MakeDataset) -> None:
    """Too few rows to certify: no threshold, everything escalates, and the message says so."""
    data = json.loads(runner.invoke(app, ["calibrate", str(make_dataset()), "--alpha", "0.05", "--json"]).stdout)
    assert data["certified"] is False
    assert data["threshold"] is None
    assert data["check_accepted_share"] == 0.0
    assert "escalate everything" in data["message"]


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--alpha", "0.1", "--quality", "0.9"], "give exactly one of quality, alpha or strong_share"),
        (["--delta", "1.5"], "delta must be in"),
        (["--calibration-share", "1"], "calibration_share must be in"),
        (["--kind", "magic"], "magic"),
    ],
)
def test_calibrate_errors(make_dataset: MakeDataset, args: list[str], pattern: str) -> None:
    """Bad targets and shares are one error line with exit code 2."""
    result = runner.invoke(app, ["calibrate", str(make_dataset()), *args])
    assert result.exit_code == 2
    assert pattern in result.stderr
