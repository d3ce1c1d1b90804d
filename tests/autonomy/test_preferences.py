"""The engine's preference hook: only decisions escalated for confidence alone may proceed on a person's
learned preference; they are stored and audited as such, and preference_metrics counts them and their errors."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from escalade.autonomy import (
    CalibrationRecord,
    Decision,
    DecisionContext,
    EscalationEngine,
    EscalationResult,
    MemoryAutonomyStore,
    Outcome,
    RateControl,
    preference_metrics,
)
from escalade.exceptions import ConfigError

STAGING = {"description": "Deploy the search service to staging", "affected_systems": ["search"]}
PRODUCTION = {"description": "Deploy the search service to production", "affected_systems": ["search"]}
CREDENTIALS = {"description": "Rotate the production database credentials"}


class Approving:
    """A preference source that approves everything it is asked about, and remembers what it was asked."""

    def __init__(self, answer: str | None = "auto-approved on ana's learned preference: test") -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str]] = []

    def approval(
        self, person: str, decision: Decision, result: EscalationResult, *, workspace: str, now: datetime
    ) -> str | None:
        self.asked.append((person, decision.description, workspace))
        return self.answer


def engine_with(source: Approving | None, *, profile: str = "supervised", audit_rate: float = 0.05) -> EscalationEngine:
    """An engine whose thresholds stay put (no rate control), asking ``source``."""
    return EscalationEngine(
        MemoryAutonomyStore(),
        profile=profile,
        rate=RateControl(enabled=False),
        preferences=source,
        rng=random.Random(1),
        audit_rate=audit_rate,
    )


def test_an_escalation_for_confidence_alone_proceeds_on_the_preference_and_is_audited_so() -> None:
    source = Approving()
    engine = engine_with(source)
    result = engine.evaluate({"id": "d1", **STAGING}, DecisionContext(workspace="w"), person="ana")
    assert (result.should_escalate, result.auto_approved_by, result.autonomous_action) == (False, "ana", "proceed")
    assert result.reasons[-1] == "auto-approved on ana's learned preference: test"
    assert result.reasons[0].startswith("confidence")  # why it would have waited, kept
    assert result.to_line()["auto_approved_by"] == "ana"
    assert source.asked == [("ana", STAGING["description"], "w")]
    record = engine.store.get_decision("w", "d1")
    assert record is not None
    assert not record.escalated
    [entry] = engine.store.audit_entries()
    assert entry.content()["payload"]["auto_approved_by"] == "ana"


@pytest.mark.parametrize("decision", [PRODUCTION, CREDENTIALS], ids=["rule", "critical"])
def test_a_forced_or_critical_decision_never_proceeds_on_a_preference(decision: dict[str, object]) -> None:
    source = Approving()
    result = engine_with(source).evaluate({"id": "d1", **decision}, person="ana")
    assert result.should_escalate
    assert result.auto_approved_by is None
    assert "auto_approved_by" not in result.to_line()
    assert source.asked == []  # not even asked


def test_a_type_the_calibration_holds_never_proceeds_on_a_preference() -> None:
    """A calibration that certifies no threshold for deployments wants a person for each: no preference
    overrides that guarantee."""
    source = Approving()
    engine = engine_with(source)
    record = CalibrationRecord(
        id="cal1", created_at=datetime(2026, 12, 1, tzinfo=UTC), alpha=0.05, delta=0.1,
        floors={"deployment": None}, labelled={"deployment": 3}, messages={},
    )  # fmt: skip
    engine.store.save_calibration("default", record)
    result = engine.evaluate({"id": "d1", **STAGING}, person="ana")
    assert result.should_escalate
    assert result.auto_approved_by is None
    assert source.asked == []


def test_a_decision_that_proceeds_anyway_or_one_refused_is_left_as_it_is() -> None:
    source = Approving()
    engine = engine_with(source, profile="full_autonomy")
    assert engine.evaluate({"id": "d1", **STAGING}, person="ana").auto_approved_by is None
    assert source.asked == []
    refused = engine_with(Approving(None)).evaluate({"id": "d2", **STAGING}, person="ana")
    assert (refused.should_escalate, refused.auto_approved_by) == (True, None)


def test_the_rate_controller_still_sees_the_thresholds_escalation() -> None:
    engine = EscalationEngine(MemoryAutonomyStore(), preferences=Approving())
    assert engine.evaluate({"id": "d1", **STAGING}, person="ana").auto_approved_by == "ana"
    plain = EscalationEngine(MemoryAutonomyStore())
    assert plain.evaluate({"id": "d1", **STAGING}).should_escalate
    assert "rate:balanced" in plain.store.offsets("default")
    assert engine.store.offsets("default") == plain.store.offsets("default")


def test_a_person_without_preferences_is_refused_before_anything_is_stored() -> None:
    engine = engine_with(None)
    with pytest.raises(ConfigError, match="preferences="):
        engine.evaluate({"id": "d1", **STAGING}, person="ana")
    assert engine.store.decision_count("default") == 0


def test_preference_metrics_count_the_auto_approved_and_their_audited_errors() -> None:
    engine = engine_with(Approving(), audit_rate=1.0)
    for i in range(4):
        engine.evaluate({"id": f"p{i}", **STAGING}, person="ana")
    engine.evaluate({"id": "plain", **STAGING})  # escalated, not on a preference
    engine.record_outcome("p0", Outcome(success=True))
    engine.record_outcome("p1", Outcome(success=False))
    engine.record_outcome("p2", Outcome(success=True, should_have_escalated=True))
    m = preference_metrics(engine.store.decisions("default"), engine.store.audit_entries())
    assert (m.auto_approved, dict(m.by_person), m.with_outcome, m.errors) == (4, {"ana": 4}, 3, 2)
    assert m.error_rate == pytest.approx(2 / 3, abs=1e-4)
    assert m.error_upper is not None
    assert m.error_upper > 2 / 3
    assert (m.audited_sample, m.audited_errors) == (3, 2)
    assert m.to_dict()["by_person"] == {"ana": 4}
    empty = preference_metrics([], [])
    assert (empty.auto_approved, empty.error_rate, empty.error_upper, empty.audited_error_rate) == (0, None, None, None)
