"""Trigger outcomes from finished items: every case of the rule, and the firing read off a routing decision."""

from __future__ import annotations

import pytest

from escalade.cascade import AttemptRecord, ItemResult, TierResult
from escalade.ladder import Ladder
from escalade.providers import Usage
from escalade.routing import (
    NO_TRIGGER,
    InMemoryTriggerHistory,
    KnownOutcome,
    Router,
    Task,
    Trigger,
    TriggerCategory,
    TriggerFiring,
    TriggerOutcome,
    WorkspacePreferences,
    task_hash,
    tier_verdict,
    trigger_outcomes,
)

TIERS = ("cheap", "capable", "premium")
AUTH = Trigger(name="auth", category=TriggerCategory.SECURITY, confidence=0.9, reason="Escalate: auth.", evidence=())
PERF = Trigger(
    name="perf", category=TriggerCategory.BUSINESS_IMPACT, confidence=0.7, reason="Escalate: perf.", evidence=()
)


def _attempt(tier: str, *, passed: bool, error: str | None = None) -> AttemptRecord:
    return AttemptRecord(
        item_id="q",
        tier=tier,
        attempt=1,
        model="m",
        text=None if error else "answer",
        analysis=None,
        cqs=None if error else (90.0 if passed else 10.0),
        passed=passed,
        reason=None if passed else (error or "low quality"),
        cost_usd=0.01,
        usage=Usage(),
        calls=1,
        latency_s=0.0,
        error=error,
    )


def _tier(name: str, *attempts: AttemptRecord, escalated: bool = False) -> TierResult:
    return TierResult(tier=name, attempts=attempts, escalated=escalated, escalation_reason="low" if escalated else None)


def _item(*tiers: TierResult, status: str = "accepted", error: str | None = None) -> ItemResult:
    return ItemResult(item_id="q", status=status, tiers=tiers, error=error)


def _firing(base: str, start: str, *triggers: Trigger, acted: tuple[str, ...] = ()) -> TriggerFiring:
    return TriggerFiring(task_hash="h", base_tier=base, start_tier=start, triggers=triggers, acted=frozenset(acted))


PASSED_CHEAP = _item(_tier("cheap", _attempt("cheap", passed=True)))
CLIMBED = _item(
    _tier("cheap", _attempt("cheap", passed=False), escalated=True), _tier("capable", _attempt("capable", passed=True))
)
PREMIUM_FIRST = _item(_tier("premium", _attempt("premium", passed=True)))


def _pairs(outcomes: tuple[TriggerOutcome, ...]) -> list[tuple[str, bool, bool]]:
    return [(o.trigger, o.escalated, o.needed) for o in outcomes]


@pytest.mark.parametrize(
    ("item", "firing", "known", "expected"),
    [
        pytest.param(
            PASSED_CHEAP, _firing("cheap", "cheap"), None, [(NO_TRIGGER, False, False)], id="set-true-negative"
        ),
        pytest.param(CLIMBED, _firing("cheap", "cheap"), None, [(NO_TRIGGER, False, True)], id="set-miss"),
        pytest.param(PASSED_CHEAP, _firing("cheap", "cheap", PERF), None, [("perf", False, False)], id="vetoed-right"),
        pytest.param(CLIMBED, _firing("cheap", "cheap", PERF), None, [("perf", False, True)], id="false-negative"),
        pytest.param(
            PREMIUM_FIRST, _firing("cheap", "premium", AUTH, acted=("auth",)), None, [], id="sent-up-no-evidence"
        ),
        pytest.param(
            PREMIUM_FIRST,
            _firing("cheap", "premium", AUTH, PERF, acted=("auth",)),
            lambda item_id, tier: False,
            [("auth", True, True), ("perf", False, True)],
            id="true-positive",
        ),
        pytest.param(
            PREMIUM_FIRST,
            _firing("cheap", "premium", AUTH, acted=("auth",)),
            lambda item_id, tier: True,
            [("auth", True, False)],
            id="false-positive",
        ),
        pytest.param(
            PASSED_CHEAP,
            _firing("cheap", "cheap", PERF),
            lambda item_id, tier: False,
            [("perf", False, True)],
            id="known-beats-run-verdict",
        ),
        pytest.param(
            PASSED_CHEAP,
            _firing("cheap", "cheap", PERF),
            lambda item_id, tier: None,
            [("perf", False, False)],
            id="unknown-falls-back",
        ),
        pytest.param(PREMIUM_FIRST, _firing("premium", "premium", AUTH), lambda i, t: False, [], id="base-is-top"),
        pytest.param(
            _item(_tier("cheap", _attempt("cheap", passed=False, error="429"), escalated=True), PREMIUM_FIRST.tiers[0]),
            _firing("cheap", "cheap", PERF),
            None,
            [],
            id="only-errors-on-base",
        ),
        pytest.param(
            _item(_tier("cheap", _attempt("cheap", passed=False)), status="unresolved"),
            _firing("cheap", "cheap", PERF),
            None,
            [("perf", False, True)],
            id="ended-unresolved-on-base",
        ),
        pytest.param(
            _item(_tier("cheap", _attempt("cheap", passed=False)), status="unresolved", error="request budget spent"),
            _firing("cheap", "cheap", PERF),
            None,
            [],
            id="stopped-on-base",
        ),
        pytest.param(
            _item(_tier("cheap", _attempt("cheap", passed=False)), status="stopped"),
            _firing("cheap", "cheap"),
            None,
            [],
            id="run-stopped-on-base",
        ),
        pytest.param(ItemResult(item_id="q", status="not_run"), _firing("cheap", "cheap"), None, [], id="not-run"),
        pytest.param(PREMIUM_FIRST, _firing("cheap", "premium"), lambda i, t: False, [], id="raised-without-trigger"),
        pytest.param(PASSED_CHEAP, _firing("nano", "nano"), None, [], id="tier-not-on-ladder"),
    ],
)
def test_rule(
    item: ItemResult, firing: TriggerFiring, known: KnownOutcome | None, expected: list[tuple[str, bool, bool]]
) -> None:
    """Each case of the rule gives the outcomes its docstring says, and nothing without evidence."""
    assert _pairs(trigger_outcomes(item, firing, tiers=TIERS, known=known)) == expected


def test_outcomes_carry_the_trigger_and_the_task() -> None:
    """An outcome names the trigger's category and confidence and the task's hash; the set's has confidence 0."""
    (fired,) = trigger_outcomes(CLIMBED, _firing("cheap", "cheap", PERF), tiers=TIERS)
    assert (fired.category, fired.confidence, fired.task_hash) == (TriggerCategory.BUSINESS_IMPACT, 0.7, "h")
    (miss,) = trigger_outcomes(CLIMBED, _firing("cheap", "cheap"), tiers=TIERS)
    assert (miss.trigger, miss.confidence) == (NO_TRIGGER, 0.0)


def test_known_outcome_is_asked_about_the_base_tier() -> None:
    """The known outcome is asked about the item and its base tier, never the tier it ran on."""
    asked: list[tuple[str, str]] = []

    def known(item_id: str, tier: str) -> bool:
        asked.append((item_id, tier))
        return True

    trigger_outcomes(PREMIUM_FIRST, _firing("capable", "premium", AUTH, acted=("auth",)), tiers=TIERS, known=known)
    assert asked == [("q", "capable")]


def test_tier_verdict() -> None:
    """The run's verdict on a tier: passed, failed when it climbed after answering, else nothing."""
    assert tier_verdict(PASSED_CHEAP, "cheap") is True
    assert tier_verdict(CLIMBED, "cheap") is False
    assert tier_verdict(CLIMBED, "premium") is None
    assert tier_verdict(_item(_tier("cheap", _attempt("cheap", passed=False))), "cheap") is None


def test_firing_from_a_routing_decision() -> None:
    """A firing read off a decision: the base tier routes without triggers; acting triggers are named."""
    router = Router(Ladder.default())
    task = Task("Implement JWT authentication with OAuth2")
    firing = TriggerFiring.from_decision(router, task, router.route(task))
    assert (firing.base_tier, firing.start_tier, firing.acted) == ("cheap", "premium", frozenset({"authentication"}))
    assert [t.name for t in firing.triggers] == ["authentication"]
    assert firing.task_hash == task_hash(task)
    off = WorkspacePreferences(auto_escalation=False)
    quiet = TriggerFiring.from_decision(router, task, router.route(task, off), off)
    assert (quiet.base_tier, quiet.start_tier, quiet.acted) == ("cheap", "cheap", frozenset())
    forced = TriggerFiring.from_decision(router, task, router.route(task, override="capable"))
    assert (forced.base_tier, forced.start_tier, forced.acted) == ("capable", "capable", frozenset())


def test_in_memory_history_keeps_one_outcome_per_trigger_and_task() -> None:
    """Recording the same trigger and task twice keeps the first outcome only."""
    history = InMemoryTriggerHistory()
    first = TriggerOutcome("auth", TriggerCategory.SECURITY, 0.9, True, True, "h")
    assert history.record_trigger_outcome_once(first)
    assert not history.record_trigger_outcome_once(
        TriggerOutcome("auth", TriggerCategory.SECURITY, 0.9, True, False, "h")
    )
    assert history.record_trigger_outcome_once(TriggerOutcome("auth", TriggerCategory.SECURITY, 0.9, True, False, "g"))
    assert history.trigger_stats()["auth"].true_positives == 1
