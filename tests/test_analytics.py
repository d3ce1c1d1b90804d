"""Analytics over stored runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalade.analytics import generate_cost_analytics
from escalade.store.base import RunSummary


def _run(workflow: str, cost: float, baseline: float, items: int, esc: float, ok: float) -> RunSummary:
    return RunSummary(
        run_id=f"{workflow}-{cost}",
        workflow=workflow,
        status="completed",
        started_at=datetime.now(UTC),
        finished_at=None,
        items_total=items,
        items_done=items,
        total_cost=cost,
        items_answered=items,
        answered_cost=cost,
        premium_baseline_cost=baseline,
        escalation_rate=esc,
        success_rate=ok,
        tiers={},
        metrics={},
        warnings=[],
        notes=[],
        config={},
    )


def test_aggregates_weight_items_equally() -> None:
    """Totals add up; rates are per item; average savings is the mean of run savings; per-workflow stats."""
    runs = [_run("a", 1.0, 4.0, 10, 0.5, 1.0), _run("a", 3.0, 4.0, 30, 0.1, 0.5), _run("b", 2.0, 2.0, 10, 0.0, 0.0)]
    a = generate_cost_analytics(runs)
    assert (a.total_runs, a.total_items) == (3, 50)
    assert a.total_cost == 6.0
    assert a.total_savings == 4.0
    assert a.avg_savings_percent == pytest.approx((75 + 25 + 0) / 3)
    assert a.escalation_rate == pytest.approx((5 + 3 + 0) / 50)
    assert a.success_rate == pytest.approx((10 + 15 + 0) / 50)
    assert a.workflow_stats["a"].runs == 2
    assert a.workflow_stats["a"].avg_cost == 2.0
    assert a["total_runs"] == 3
    assert a.to_dict()["workflow_stats"]["b"]["total_savings"] == 0.0


def test_no_runs() -> None:
    """No stored runs gives zeros, not a division error."""
    a = generate_cost_analytics([])
    assert (a.total_runs, a.total_cost, a.escalation_rate, a.avg_savings_percent) == (0, 0.0, 0.0, None)
