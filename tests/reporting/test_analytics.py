"""Analytics over stored runs: real routing runs in the totals, test generation and offline ceilings apart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest

from escalade.cascade import TESTGEN_WORKFLOW
from escalade.reporting import generate_cost_analytics, run_kind
from escalade.store import RunSummary
from escalade.testgen import ProgressiveTestGenWorkflow


def _run(
    workflow: str,
    cost: float,
    baseline: float,
    items: int,
    esc: float,
    ok: float,
    *,
    answered: int | None = None,
    answered_cost: float | None = None,
    metrics: dict[str, Any] | None = None,
) -> RunSummary:
    return RunSummary(
        run_id=f"{workflow}-{cost}",
        workflow=workflow,
        status="completed",
        started_at=datetime.now(UTC),
        finished_at=None,
        items_total=items,
        items_worked=items,
        items_answered=items if answered is None else answered,
        total_cost=cost,
        answered_cost=cost if answered_cost is None else answered_cost,
        premium_baseline_cost=baseline,
        escalation_rate=esc,
        success_rate=ok,
        tiers={},
        metrics=metrics or {},
        warnings=[],
        notes=[],
        config={},
    )


def test_aggregates_weight_items_equally() -> None:
    """Totals add up; rates are per item; average savings is the mean of run savings; per-workflow stats."""
    runs = [_run("a", 1.0, 4.0, 10, 0.5, 1.0), _run("a", 3.0, 4.0, 30, 0.1, 0.5), _run("b", 2.0, 2.0, 10, 0.0, 0.0)]
    a = generate_cost_analytics(runs)
    assert (a.total_runs, a.total_items_worked) == (3, 50)
    assert a.total_cost == 6.0
    assert a.total_savings == 4.0
    assert a.savings_percent == pytest.approx(100 * 4 / 10)
    assert a.avg_savings_percent == pytest.approx((75 + 25 + 0) / 3)
    assert a.escalation_rate == pytest.approx((5 + 3 + 0) / 50)
    assert a.success_rate == pytest.approx((10 + 15 + 0) / 50)
    assert a.workflow_stats["a"].runs == 2
    assert a.workflow_stats["a"].avg_cost == 2.0
    assert a["total_runs"] == 3
    assert a.to_dict()["workflow_stats"]["b"]["total_savings"] == 0.0


def test_savings_count_answered_items_only() -> None:
    """A run's unanswered items add to its cost, never to its savings or baseline."""
    run = _run("live", 0.5, 1.0, 10, 0.0, 0.5, answered=5, answered_cost=0.2)
    a = generate_cost_analytics([run])
    assert (a.total_cost, a.total_answered_cost) == (0.5, 0.2)
    assert a.total_savings == pytest.approx(0.8)
    assert (a.total_items_worked, a.total_items_answered) == (10, 5)


@pytest.mark.parametrize(
    ("workflow", "metrics", "kind"),
    [
        ("replay", {"offline_scorer": False}, "routing"),
        ("live", {}, "routing"),
        ("my-workflow", {}, "routing"),
        ("replay-offline", {"offline_scorer": True}, "offline"),
        ("replay", {"offline_scorer": True}, "offline"),
        ("test-gen", {"target_file": "x.py"}, "test-generation"),
    ],
)
def test_each_run_has_a_kind(workflow: str, metrics: dict[str, Any], kind: str) -> None:
    """Offline-scorer runs are offline, test generation is its own kind, the rest are routing runs."""
    assert run_kind(_run(workflow, 1.0, 1.0, 1, 0.0, 1.0, metrics=metrics)) == kind


def test_offline_and_test_generation_runs_stay_out_of_the_totals() -> None:
    """The headline totals cover routing runs only and say so; the other kinds are reported apart."""
    runs = [
        _run("replay", 1.0, 2.0, 10, 0.5, 1.0),
        _run("replay-offline", 0.5, 20.0, 100, 0.2, 1.0, metrics={"offline_scorer": True}),
        _run("test-gen", 0.1, 0.3, 6, 0.5, 1.0),
    ]
    a = generate_cost_analytics(runs)
    assert (a.total_runs, a.total_items_worked, a.total_cost, a.total_savings) == (1, 10, 1.0, 1.0)
    assert a.includes == "routing"
    offline, testgen = a.groups["offline"], a.groups["test-generation"]
    assert (offline.runs, offline.total_savings) == (1, 19.5)
    assert (testgen.runs, testgen.total_cost) == (1, 0.1)
    assert {name: s.kind for name, s in a.workflow_stats.items()} == {
        "replay": "routing",
        "replay-offline": "offline",
        "test-gen": "test-generation",
    }
    data = a.to_dict()
    assert data["includes"] == "routing"
    assert data["groups"]["offline"]["total_savings"] == 19.5


def test_no_runs() -> None:
    """No stored runs gives zeros, not a division error."""
    a = generate_cost_analytics([])
    assert (a.total_runs, a.total_cost, a.escalation_rate, a.avg_savings_percent) == (0, 0.0, 0.0, None)
    assert a.savings_percent is None


def test_a_workflow_with_two_kinds_of_run_is_split() -> None:
    """A workflow whose runs are of two kinds (an offline scorer in a library replay) gets one row per kind."""
    runs = [
        _run("replay", 1.0, 2.0, 4, 0.0, 1.0),
        _run("replay", 0.5, 2.0, 4, 0.0, 1.0, metrics={"offline_scorer": True}),
    ]
    stats = generate_cost_analytics(runs).workflow_stats
    assert {name: (s.kind, s.runs) for name, s in stats.items()} == {
        "replay (offline)": ("offline", 1),
        "replay (routing)": ("routing", 1),
    }


def test_workflow_rows_are_group_figures_with_their_kind() -> None:
    """A workflow's row has every figure of its group, its kind and mean cost; the totals are the routing group's."""
    runs = [_run("a", 1.0, 4.0, 10, 0.5, 1.0), _run("a", 3.0, 4.0, 30, 0.1, 0.5, answered=20)]
    a = generate_cost_analytics(runs)
    row = a.to_dict()["workflow_stats"]["a"]
    assert row == {**a.to_dict()["groups"]["routing"], "kind": "routing", "avg_cost": 2.0}
    assert (row["items_worked"], row["items_answered"]) == (40, 30)
    totals, group = a.to_dict(), a.groups["routing"]
    assert totals["includes"] == "routing"
    assert [totals[f"total_{name}"] for name in ("runs", "items_worked", "items_answered", "cost", "savings")] == [
        group.runs, group.items_worked, group.items_answered, group.total_cost, group.total_savings
    ]  # fmt: skip
    assert (totals["total_answered_cost"], totals["total_baseline_cost"]) == (group.answered_cost, group.baseline_cost)
    rates = ("savings_percent", "avg_savings_percent", "escalation_rate", "success_rate")
    assert [totals[name] for name in rates] == [getattr(group, name) for name in rates]


def test_analytics_knows_test_generation_without_loading_the_sandbox() -> None:
    """analytics reads the testgen workflow's name from a light constant: the sandbox modules are not imported."""
    assert ProgressiveTestGenWorkflow.workflow_name == TESTGEN_WORKFLOW == "test-gen"
    probe = textwrap.dedent(
        """
        import sys
        import escalade.reporting._analytics  # the root package imports nothing until a name is read
        print(sorted(m for m in sys.modules if m.startswith("escalade.testgen")))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
