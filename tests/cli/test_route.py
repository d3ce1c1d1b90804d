"""``escalade route``: the start tier of a task, its triggers, context analysis and reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalade.cli import app

runner = CliRunner()


def test_route_reads_python_files_and_explains(tmp_path: Path) -> None:
    """Triggers and context analysis of the given files decide the tier; JSON carries the evidence."""
    code = tmp_path / "payments.py"
    code.write_text("def charge(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12)))
    result = runner.invoke(app, ["route", "Tidy up the module", "--file", str(code), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tier"] == "premium"
    assert data["analysis"]["complexity"]["max_cyclomatic_complexity"] == 13
    assert data["analysis"]["risk"]["level"] == "critical"
    assert data["triggers"][0]["name"] == "revenue_path"  # from the file's name
    branchy = tmp_path / "m.py"
    branchy.write_text("def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(45)))
    risky = json.loads(runner.invoke(app, ["route", "Tidy up", "--file", str(branchy), "--json"]).stdout)
    assert risky["tier"] == "capable"
    assert any("high risk from context analysis" in r for r in risky["reasons"])


def test_route_bounds_override_and_text(tmp_path: Path) -> None:
    """Bounds cap a trigger, an override wins, and the text output lists reasons and triggers."""
    capped = json.loads(runner.invoke(app, ["route", "Add JWT login", "--max-tier", "capable", "--json"]).stdout)
    assert capped["tier"] == "capable"
    forced = json.loads(runner.invoke(app, ["route", "Fix a typo", "--override", "premium", "--json"]).stdout)
    assert forced["overridden"] is True
    text = runner.invoke(app, ["route", "Add JWT login"]).stdout
    assert "authentication" in text
    assert "start on 'premium'" in text


def test_route_with_custom_triggers_and_router(tmp_path: Path, shared_benchmarks: Path) -> None:
    """A custom trigger file and a saved router artifact are used when given."""
    triggers = tmp_path / "t.toml"
    triggers.write_text(
        '[[triggers]]\nname = "flags"\ncategory = "security"\nphrases = ["feature flags?"]\nconfidence = 0.9\n'
    )
    data = json.loads(
        runner.invoke(app, ["route", "Flip the feature flag", "--triggers", str(triggers), "--json"]).stdout
    )
    assert data["triggers"][0]["name"] == "flags"
    artifact = tmp_path / "r.json"
    fitted = runner.invoke(app, ["router", "fit", str(shared_benchmarks / "routerbench-arc"), "--out", str(artifact)])
    assert fitted.exit_code == 0
    routed = json.loads(
        runner.invoke(app, ["route", "Which gas do plants take in?", "--router", str(artifact), "--json"]).stdout
    )
    assert "learned gain per dollar" in routed["reasons"][0]


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--file", "missing.py"], "file not found: missing.py"),
        (["--max-tier", "gold"], "no tier named 'gold'"),
        (["--override", "gold"], "no tier named 'gold'"),
        (["--router", "none.json"], "router artifact not found"),
    ],
)
def test_route_errors(args: list[str], pattern: str) -> None:
    """Missing files, unknown tiers and unreadable artifacts are one error line."""
    result = runner.invoke(app, ["route", "x", *args])
    assert result.exit_code == 2
    assert pattern in result.stderr


def test_route_with_a_stored_workspace(db_url: str) -> None:
    """--workspace routes with the stored preferences (default tier ahead of the classifier); options replace fields."""
    assert runner.invoke(app, ["workspace", "set", "acme", "--default-tier", "capable", "--db", db_url]).exit_code == 0
    stored = json.loads(
        runner.invoke(app, ["route", "Fix a typo", "--workspace", "acme", "--db", db_url, "--json"]).stdout
    )
    assert stored["tier"] == "capable"
    assert stored["reasons"][0] == "workspace default tier 'capable' (ahead of classification)"
    args = ["route", "Fix a typo", "--workspace", "acme", "--default-tier", "cheap", "--db", db_url, "--json"]
    assert json.loads(runner.invoke(app, args).stdout)["tier"] == "cheap"
    other = json.loads(runner.invoke(app, ["route", "Fix a typo", "--workspace", "b", "--db", db_url, "--json"]).stdout)
    assert other["tier"] == "cheap"  # workspace b has nothing stored: the defaults
    forced = runner.invoke(app, ["route", "Fix a typo", "--default-tier", "premium", "--override", "cheap", "--json"])
    assert json.loads(forced.stdout)["tier"] == "cheap"
    bad = runner.invoke(app, ["route", "x", "--workspace", "a\x00b", "--db", db_url])
    assert bad.exit_code == 2
    assert "field 'workspace'" in bad.stderr
