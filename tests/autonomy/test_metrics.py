"""Escalation metrics: rates by type and profile, overrides, errors both ways, the audited estimate, the trend."""

from __future__ import annotations

from typing import Any

import pytest

from escalade.autonomy import DecisionRecord, Outcome, escalation_metrics
from tests.autonomy.factories import decision_record


def _r(i: int, *, escalated: bool, outcome: Outcome | None = None, **changes: Any) -> DecisionRecord:
    return decision_record(f"d{i}", escalated=escalated, outcome=outcome, **changes)


def test_confusion_rates_from_outcomes() -> None:
    """FP, FN, override and auto-approved error rates follow from outcomes (positive = escalated)."""
    records = [
        _r(1, escalated=True, outcome=Outcome(response="approve", response_time_s=5)),  # FP, unnecessary
        _r(2, escalated=True, outcome=Outcome(response="reject")),  # TP, override of "approve"
        _r(3, escalated=True, outcome=Outcome(response="approve"), recommendation="reject"),  # FP, override
        _r(4, escalated=False, outcome=Outcome(success=True)),  # TN
        _r(5, escalated=False, outcome=Outcome(success=False)),  # FN
        _r(6, escalated=False, outcome=Outcome(success=True), sampled=True),  # TN, audited
        _r(7, escalated=False, outcome=Outcome(success=True, should_have_escalated=True), sampled=True),  # FN, audited
        _r(8, escalated=False),  # no outcome yet
        _r(9, escalated=True, rule_hits=("compliance",), forced=True),
    ]
    m = escalation_metrics(records, target_rate=0.05)
    assert (m.decisions, m.escalated, m.with_outcome, m.answered) == (9, 4, 7, 3)
    assert m.escalation_rate == pytest.approx(4 / 9, abs=1e-4)
    assert m.false_positive_rate == pytest.approx(2 / 4)  # FP / (FP + TN)
    assert m.false_negative_rate == pytest.approx(2 / 3, abs=1e-4)  # FN / (FN + TP)
    assert m.override_rate == pytest.approx(2 / 3, abs=1e-4)
    assert m.unnecessary_share_of_escalations == pytest.approx(1 / 3, abs=1e-4)
    assert m.auto_approved_error_rate == pytest.approx(2 / 4)
    assert m.auto_approved_error_upper is not None
    assert m.auto_approved_error_upper > 0.5
    assert (m.audited_error_rate, m.audited_sample) == (0.5, 2)
    assert m.rule_forced == 1
    assert (m.threshold_decided, m.threshold_escalation_rate) == (8, 0.375)


def test_rates_by_type_and_profile() -> None:
    """Escalation rate per type and per profile."""
    records = [
        _r(1, escalated=True, type="deployment"),
        _r(2, escalated=False, type="deployment", profile="cautious"),
        _r(3, escalated=False, type="fix"),
    ]
    m = escalation_metrics(records)
    assert m.by_type["deployment"] == {"decisions": 2, "escalated": 1, "rate": 0.5}
    assert m.by_profile["balanced"]["rate"] == 0.5
    assert m.by_profile["cautious"]["rate"] == 0.0


@pytest.mark.parametrize(
    ("pattern", "trend"),
    [
        ([i % 10 == 0 for i in range(200)], "stable"),
        ([i > 100 + (i % 7) for i in range(200)], "increasing"),
        ([i < 100 - (i % 7) for i in range(200)], "decreasing"),
        ([True] * 10, "insufficient_data"),
    ],
)
def test_trend(pattern: list[bool], trend: str) -> None:
    """The trend is a significant slope over windows, else stable; too few decisions say so."""
    m = escalation_metrics([_r(i, escalated=e) for i, e in enumerate(pattern)])
    assert m.trend == trend


def test_empty_history() -> None:
    """No decisions: zero rate, unknown error rates."""
    m = escalation_metrics([])
    assert (m.decisions, m.escalation_rate, m.false_positive_rate, m.trend) == (0, 0.0, None, "insufficient_data")
    assert m.to_dict()["by_type"] == {}
