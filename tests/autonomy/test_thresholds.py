"""Thresholds: the certified floor against brute force, the rate controller's bound, learning's direction."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.autonomy import (
    POOLED,
    PROFILES,
    AutomationProfile,
    CalibrationRecord,
    DecisionContext,
    DecisionRecord,
    EscalationEngine,
    Labelled,
    Learning,
    MemoryAutonomyStore,
    Outcome,
    RateControl,
    RuleSet,
    Threshold,
    certify_floors,
    labelled_from,
)
from escalade.calibration import min_certifiable_items
from escalade.evaluation import decision_stream
from escalade.exceptions import ConfigError, NotEnoughLabelsError
from tests.autonomy.factories import NOW, audit_draft, decision_record


def _binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def _brute_floor(items: list[tuple[float, bool]], alpha: float, delta: float, grid: float | None) -> float | None:
    """The fixed-sequence test written out plainly: thresholds from the top, stop at the first failure."""
    n = len(items)
    thresholds = sorted({s for s, _ in items}, reverse=True)
    best, mark = None, 0
    for t in thresholds:
        accepted = [err for s, err in items if s >= t]
        if grid is not None:
            this_mark = math.ceil(len(accepted) / n / grid - 1e-9)
            if this_mark == mark:
                continue
            mark = this_mark
        if (1 - alpha) ** len(accepted) > delta:
            continue  # not even zero errors would pass here
        if _binom_cdf(sum(accepted), len(accepted), alpha) > delta:
            break
        best = t
    return best


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 160),
    alpha=st.sampled_from([0.1, 0.2, 0.3]),
    delta=st.sampled_from([0.05, 0.1, 0.2]),
    grid=st.sampled_from([None, 0.1, 0.25]),
)
def test_floor_matches_brute_force(seed: int, n: int, alpha: float, delta: float, grid: float | None) -> None:
    """The certified floor equals a plain re-implementation of the fixed-sequence Clopper–Pearson walk."""
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        score = round(rng.random(), 2)  # ties included
        items.append((score, rng.random() < 0.6 * (1 - score)))  # errors rarer at high confidence
    labelled = [Labelled("maintenance", s, e) for s, e in items]
    if n < min_certifiable_items(alpha, delta, grid=grid):
        with pytest.raises(NotEnoughLabelsError):
            certify_floors(labelled, alpha=alpha, delta=delta, types=["maintenance"], grid=grid)
        return
    record = certify_floors(labelled, alpha=alpha, delta=delta, types=["maintenance"], grid=grid)
    assert record.floors["maintenance"] == _brute_floor(items, alpha, delta, grid)


def test_delta_is_split_over_the_types_calibrated() -> None:
    """Per-type floors are certified at δ / (types with labels), so all hold together."""
    rng = random.Random(3)
    labelled = [Labelled(t, rng.random(), rng.random() < 0.05) for t in ("fix", "data") for _ in range(300)]
    record = certify_floors(labelled, alpha=0.15, delta=0.1, grid=None)
    for name in ("fix", "data"):
        items = [(x.confidence, x.error) for x in labelled if x.type == name]
        assert record.floors[name] == _brute_floor(items, 0.15, 0.05, None)
    assert record.floors["security"] is None
    assert record.labelled["security"] == 0
    needed = min_certifiable_items(0.15, 0.1 / 3, grid=None)
    assert record.messages["security"].startswith(f"0 labelled decisions, fewer than the {needed} a floor needs here")


@pytest.mark.parametrize(
    ("labelled", "pooled", "needed", "have"),
    [
        pytest.param([], False, min_certifiable_items(0.05, 0.1, grid=0.1), "there are none", id="no-labels"),
        pytest.param(
            [Labelled("fix", 0.9, False)] * 48, False, 49, "the most labelled type, fix, has 48", id="one-short"
        ),
        pytest.param(
            [Labelled(t, 0.9, False) for t in ("fix", "data") for _ in range(24)], True, 49, "there are 48", id="pooled"
        ),
    ],
)
def test_too_few_labels_are_refused(labelled: list[Labelled], pooled: bool, needed: int, have: str) -> None:
    """With fewer labels than the test can certify anything on, calibration refuses and says how many it needs."""
    with pytest.raises(NotEnoughLabelsError) as caught:
        certify_floors(labelled, alpha=0.05, delta=0.1, pooled=pooled)
    error = caught.value
    assert error.needed == needed == min_certifiable_items(0.05, 0.1, grid=0.1)
    assert f"needs at least {needed} labelled decisions" in str(error)
    assert "nothing was stored" in str(error)
    assert have in str(error)


def test_the_number_of_labels_needed_is_exact() -> None:
    """At the number of labels the refusal names, error-free labels do certify a floor; one fewer is refused."""
    needed = min_certifiable_items(0.05, 0.1, grid=0.1)
    items = [Labelled("fix", 0.5 + i / 1000, False) for i in range(needed)]
    assert certify_floors(items, alpha=0.05, delta=0.1).floors["fix"] is not None
    with pytest.raises(NotEnoughLabelsError):
        certify_floors(items[1:], alpha=0.05, delta=0.1)


def test_delta_is_split_only_over_types_with_enough_labels() -> None:
    """A type with too few labels is held without a test, and takes no share of delta from the others."""
    rng = random.Random(5)
    many = [Labelled("fix", rng.random(), rng.random() < 0.05) for _ in range(300)]
    record = certify_floors([*many, *[Labelled("data", 0.9, False)] * 3], alpha=0.15, delta=0.1, grid=None)
    items = [(x.confidence, x.error) for x in many]
    assert record.floors["fix"] == _brute_floor(items, 0.15, 0.1, None)  # all of delta, not half
    assert record.floors["data"] is None
    assert record.labelled["data"] == 3
    assert "3 labelled decisions, fewer than the" in record.messages["data"]


def test_pooled_floor_is_one_for_all() -> None:
    """A pooled calibration has one floor under "*", applied to every type."""
    rng = random.Random(4)
    labelled = [Labelled(rng.choice(["fix", "data"]), rng.random(), False) for _ in range(200)]
    record = certify_floors(labelled, alpha=0.1, delta=0.1, pooled=True)
    assert set(record.floors) == {POOLED}
    floor = record.floors[POOLED]
    assert floor is not None
    threshold = Threshold.combine(profile=0.1, offsets={}, decision_type="data", rate_key=None, calibration=record)
    assert threshold.value == pytest.approx(max(0.1, floor), abs=1e-4)


def test_the_guarantee_holds_on_fresh_draws() -> None:
    """Over many calibrations, the true error above the floor exceeds α in at most about δ of them."""
    rng = np.random.default_rng(0)
    alpha, delta, failures, runs = 0.1, 0.1, 0, 300

    def true_error(t: float) -> float:  # error probability 0.5·(1 − s) with s uniform: mean over [t, 1]
        return 0.25 * (1 - t)

    for _ in range(runs):
        scores = rng.random(400)
        errors = rng.random(400) < 0.5 * (1 - scores)
        record = certify_floors(
            [Labelled("fix", float(s), bool(e)) for s, e in zip(scores, errors, strict=True)],
            alpha=alpha,
            delta=delta,
            types=["fix"],
        )
        floor = record.floors["fix"]
        failures += floor is not None and true_error(floor) > alpha
    assert failures / runs <= delta + 0.03


@pytest.mark.parametrize(("alpha", "delta"), [(0, 0.1), (1, 0.1), (0.1, 0), (0.1, 1.5)])
def test_levels_are_checked(alpha: float, delta: float) -> None:
    """α and δ must lie strictly between 0 and 1."""
    with pytest.raises(ConfigError, match="alpha and delta"):
        certify_floors([], alpha=alpha, delta=delta)


def _record(i: int, **changes: Any) -> DecisionRecord:
    return decision_record(f"d{i}", **{"escalated": True, "confidence": 0.55, **changes})


def test_calibration_labels_are_the_sampled_unforced_ones() -> None:
    """Only sampled decisions count by default, and never those escalated whatever their confidence."""
    outcome = Outcome(success=True, response="approve")
    records = [
        _record(1, sampled=True, outcome=outcome),
        _record(2, sampled=False, outcome=outcome),
        _record(3, sampled=True, forced=True, outcome=outcome),
        _record(4, sampled=True),  # no outcome yet
    ]
    assert [x.confidence for x in labelled_from(records)] == [0.55]
    assert len(labelled_from(records, sampled_only=False)) == 2


def _learn(record: DecisionRecord, learning: Learning | None = None) -> tuple[str | None, float]:
    store = MemoryAutonomyStore()
    draft = audit_draft(record)
    store.add_decision(replace(record, outcome=None), draft)
    stored = store.set_outcome("default", record.decision_id, record.outcome or Outcome(), NOW, draft)
    verdict, _ = (learning or Learning()).learn(store, stored)
    return verdict, store.offsets("default").get("type:fix", 0.0)


@pytest.mark.parametrize(
    ("changes", "verdict", "offset"),
    [
        ({"outcome": Outcome(response="approve", response_time_s=8)}, "unnecessary", -0.02),
        ({"outcome": Outcome(response="approve", response_time_s=600)}, "approved", 0.0),
        ({"outcome": Outcome(response="approve", response_time_s=8), "recommendation": "reject"}, "approved", 0.0),
        ({"outcome": Outcome(response="reject", response_time_s=8)}, "necessary", 0.0),
        ({"outcome": Outcome(response="approve", response_time_s=8), "forced": True}, "unnecessary", 0.0),
        ({"escalated": False, "outcome": Outcome(success=False)}, "missed", 0.05),
        ({"escalated": False, "outcome": Outcome(success=True, should_have_escalated=True)}, "missed", 0.05),
        ({"escalated": False, "outcome": Outcome(success=True)}, "correct", 0.0),
    ],
)
def test_learning_moves_thresholds_the_right_way(changes: dict[str, object], verdict: str, offset: float) -> None:
    """Unnecessary escalations lower the confidence needed for the type, misses raise it, the rest leave it."""
    got_verdict, got_offset = _learn(_record(1, **changes))
    assert got_verdict == verdict
    assert got_offset == pytest.approx(offset)


def test_learned_offsets_are_clamped() -> None:
    """Many misses stop at the upper clamp."""
    store = MemoryAutonomyStore()
    learning = Learning(step_up=0.2, high=0.3)
    for i in range(5):
        record = _record(i, escalated=False)
        draft = audit_draft(record)
        store.add_decision(record, draft)
        learning.learn(store, store.set_outcome("default", record.decision_id, Outcome(success=False), NOW, draft))
    assert store.offsets("default")["type:fix"] == pytest.approx(0.3)


def test_rate_controller_tracks_the_target_within_its_bound() -> None:
    """On a long synthetic stream, the threshold-decided escalation rate ends within 2·max_shift/(η·T) of the target."""
    profile = AutomationProfile(
        name="plain",
        description="thresholds only",
        thresholds=dict(PROFILES["balanced"].thresholds),
        escalate_criticality_above=None,
    )
    rate = RateControl(target=0.3, step=0.01, max_shift=0.3)
    store = MemoryAutonomyStore()
    engine = EscalationEngine(store, profile=profile, rules=RuleSet([]), rate=rate, audit_rate=0.0)
    decided, escalated, extremes = 0, 0, []
    for item in decision_stream(1500, seed=11, mix="routine"):
        result = engine.evaluate(item.fields, DecisionContext())
        if not result.forced:
            decided += 1
            escalated += result.should_escalate
        extremes.append(store.offsets("default").get("rate:plain", 0.0))
    assert max(abs(x) for x in extremes) < rate.max_shift  # the clamp never bound
    assert abs(escalated / decided - rate.target) <= rate.bound(decided)
    assert rate.bound(decided) == pytest.approx(2 * 0.3 / (0.01 * decided), abs=1e-6)


def test_rate_offset_never_crosses_the_certified_floor() -> None:
    """However far rate control and learning pull, the threshold stays at or above the floor."""
    record = CalibrationRecord(
        id="c1", created_at=NOW, alpha=0.1, delta=0.1, floors={"fix": 0.7}, labelled={"fix": 100}, messages={}
    )
    low = Threshold.combine(
        profile=0.58, offsets={"type:fix": -0.2, "rate:balanced": -0.15}, decision_type="fix",
        rate_key="rate:balanced", calibration=record,
    )  # fmt: skip
    assert low.value == 0.7
    assert low.floor == 0.7
    assert not low.escalate_all
    other = Threshold.combine(profile=0.6, offsets={}, decision_type="data", rate_key=None, calibration=record)
    assert other.escalate_all  # the calibration certifies nothing for data


@pytest.mark.parametrize("kwargs", [{"target": 1.5}, {"step": 0}, {"max_shift": 2}, {"target": -0.1}])
def test_rate_settings_are_checked(kwargs: dict[str, Any]) -> None:
    """Rate-control settings out of range are refused."""
    with pytest.raises(ConfigError):
        RateControl(**kwargs)


def test_learning_settings_are_checked() -> None:
    """Negative steps or an inverted clamp are refused."""
    with pytest.raises(ConfigError):
        Learning(step_down=-0.1)
    with pytest.raises(ConfigError):
        Learning(low=0.1)
