"""Trigger validation: business rules, cost–benefit with history, and per-trigger false positives/negatives."""

from __future__ import annotations

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder
from escalade.routing import (
    ContextAnalyzer,
    InMemoryTriggerHistory,
    Router,
    Task,
    Trigger,
    TriggerCategory,
    TriggerDetector,
    TriggerHistory,
    TriggerOutcome,
    TriggerValidator,
    task_hash,
)
from escalade.store import SqlStore


def _trigger(name: str, category: TriggerCategory, confidence: float) -> Trigger:
    return Trigger(name=name, category=category, confidence=confidence, reason="Escalate: test.", evidence=())


def test_security_always_escalates() -> None:
    """Security triggers escalate whatever the cost."""
    validator = TriggerValidator(escalation_cost_usd=lambda task: 1e9)
    verdict = validator.validate(_trigger("cryptography", TriggerCategory.SECURITY, 0.7), Task("x"))
    assert verdict.escalate
    assert "always escalate" in verdict.reasons[0]


def test_business_trigger_needs_confidence_or_files() -> None:
    """A weak business trigger escalates only when the files themselves show it."""
    validator = TriggerValidator()
    weak = _trigger("performance", TriggerCategory.BUSINESS_IMPACT, 0.7)
    verdict = validator.validate(weak, Task("Cut the latency"))
    assert not verdict.escalate
    assert "the files do not show it" in verdict.reasons[0]
    task = Task("Tidy up", files=("billing.py",), file_contents={"billing.py": "def f(card):\n    return card\n"})
    (from_files,) = [t for t in TriggerDetector().detect(task) if t.name == "revenue_path"]
    assert from_files.confidence < 0.8
    analysis = ContextAnalyzer().analyze(task, [from_files])
    assert validator.validate(from_files, task, analysis).escalate


def test_complexity_trigger_vetoed_by_simple_files() -> None:
    """A complexity trigger does not escalate when the files it names are simple."""
    task = Task("Refactor", files=("a.py",), file_contents={"a.py": "def f():\n    return 1\n"})
    analysis = ContextAnalyzer().analyze(task)
    verdict = TriggerValidator().validate(_trigger("many_files", TriggerCategory.COMPLEXITY, 0.9), task, analysis)
    assert not verdict.escalate
    assert "the files are simple" in verdict.reasons[0]


def test_cost_benefit_uses_history() -> None:
    """A trigger that was rarely needed stops paying for itself; the verdict shows both costs."""
    history = InMemoryTriggerHistory()
    trigger = _trigger("api_contract", TriggerCategory.BUSINESS_IMPACT, 0.8)
    validator = TriggerValidator(history=history, escalation_cost_usd=lambda task: 10.0)
    first = validator.validate(trigger, Task("Design the REST API"))
    assert first.escalate  # prior: 0.8 x $100 = $80 >= $10
    assert first.expected_failure_cost == pytest.approx(80.0)
    for _ in range(36):
        history.record_trigger_outcome(
            TriggerOutcome("api_contract", TriggerCategory.BUSINESS_IMPACT, 0.8, True, False, task_hash(Task("x")))
        )
    validator.refresh()
    later = validator.validate(trigger, Task("Design the REST API"))
    assert validator.needed_probability(trigger) == pytest.approx(0.8 * 4 / 40)
    assert not later.escalate  # 0.08 x $100 = $8 < $10
    assert "< escalation cost $10.0000" in later.reasons[0]


def _record_mix(history: TriggerHistory) -> None:
    for escalated, needed, times in [(True, True, 3), (True, False, 2), (False, True, 1), (False, False, 4)]:
        for _ in range(times):
            outcome = TriggerOutcome("revenue_path", TriggerCategory.BUSINESS_IMPACT, 0.85, escalated, needed, "h")
            history.record_trigger_outcome(outcome)


def test_stats_in_memory_and_in_the_database(db_url: str) -> None:
    """Both histories count true/false positives and negatives per trigger alike."""
    store = SqlStore(db_url)
    memory = InMemoryTriggerHistory()
    for history in (memory, store):
        _record_mix(history)
    assert store.trigger_stats() == memory.trigger_stats()
    stats = store.trigger_stats()["revenue_path"]
    assert (stats.true_positives, stats.false_positives, stats.false_negatives, stats.true_negatives) == (3, 2, 1, 4)
    assert stats.precision == pytest.approx(3 / 5)
    assert stats.false_negative_rate == pytest.approx(1 / 4)
    store.close()


def test_task_hash_keeps_no_text() -> None:
    """History stores a SHA-256 of the description, not the description."""
    digest = task_hash(Task("Rotate the signing keys"))
    assert len(digest) == 64
    assert "signing" not in digest


def test_router_reports_vetoed_triggers() -> None:
    """The router says which confident triggers the validator did not let escalate, and why."""
    router = Router(Ladder.default(), validator=TriggerValidator(escalation_cost_usd=lambda task: 1e6))
    decision = router.route(Task("Refactor the scheduler for performance", files=tuple(f"m{i}.py" for i in range(5))))
    assert decision.tier != "premium"
    assert any(r.startswith("not escalating: ") for r in decision.reasons)
    assert all(not v.escalate for v in decision.validations)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_cost_usd": {TriggerCategory.SECURITY: -1.0}}, "must not be negative"),
        ({"prior_strength": 0}, "prior"),
    ],
)
def test_bad_validator_settings(kwargs: dict[str, object], message: str) -> None:
    """Negative costs and a non-positive prior are configuration errors."""
    with pytest.raises(ConfigError, match=message):
        TriggerValidator(**kwargs)  # type: ignore[arg-type]
