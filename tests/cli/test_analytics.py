"""``escalade analytics`` on a store holding every kind of run: offline ceilings and test generation apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import invoke
from tests.conftest import MakeDataset

TESTS = "```python\nfrom doubling import double\n\n\ndef test_double():\n    assert double(2) == 4\n```\n"


def _testgen(tmp_path: Path, db_url: str) -> dict[str, object]:
    """A recorded test-generation run of a one-function module."""
    target = tmp_path / "project" / "doubling.py"
    target.parent.mkdir()
    target.write_text("def double(x):\n    return 2 * x\n", encoding="utf-8")
    answers = tmp_path / "answers.json"
    recorded = {"format": "escalade-testgen-answers/1", "tiers": {"cheap": ["gpt-4o-mini"]}}
    answers.write_text(json.dumps(recorded | {"answers": {"double": {"gpt-4o-mini": TESTS}}}), encoding="utf-8")
    code, out, err = invoke(
        "testgen", str(target), "--answers", str(answers), "--out", str(tmp_path / "kept"), "--db", db_url, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def _run(dataset: Path, db_url: str, *args: str) -> dict[str, object]:
    code, out, err = invoke("run", str(dataset), "--db", db_url, "--yes", "--json", *args)
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_totals_cover_routing_runs_only(make_dataset: MakeDataset, tmp_path: Path, db_url: str) -> None:
    """Offline-oracle and test-generation runs never mix into the headline totals, which say what they include."""
    dataset = make_dataset()
    real = _run(dataset, db_url)
    oracle = _run(dataset, db_url, "--scorer", "oracle")
    testgen = _testgen(tmp_path, db_url)
    code, out, err = invoke("analytics", "--db", db_url, "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert (stats["includes"], stats["total_runs"]) == ("routing", 1)
    assert stats["total_cost"] == pytest.approx(real["total_cost"])
    assert stats["total_savings"] == pytest.approx(real["cost_savings"])
    assert stats["groups"]["offline"]["runs"] == 1
    assert stats["groups"]["offline"]["total_savings"] == pytest.approx(oracle["cost_savings"])
    assert stats["groups"]["test-generation"]["total_cost"] == pytest.approx(testgen["total_cost"])
    assert {name: s["kind"] for name, s in stats["workflow_stats"].items()} == {
        "replay": "routing",
        "replay-offline": "offline",
        "test-gen": "test-generation",
    }
    code, text, _ = invoke("analytics", "--db", db_url)
    assert code == 0
    assert "Routing and cascade runs (the totals): 1" in text
    assert "Test generation (apart): 1" in text
    assert "Offline ceilings, oracle scorer (apart, never a real policy): 1" in text


def test_no_runs_of_a_kind_say_so(db_url: str) -> None:
    """An empty store reports zero routing runs and no other section."""
    code, text, _ = invoke("analytics", "--db", db_url)
    assert code == 0
    assert "Routing and cascade runs (the totals): 0" in text
    assert "Offline" not in text
