"""Calibration: share thresholds, and certified thresholds checked against brute force and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.calibration import (
    binomial_p_value,
    certify_cascade,
    certify_quality,
    certify_selective_error,
    clopper_pearson_lower,
    clopper_pearson_upper,
    min_certifiable_items,
    threshold_for_share,
)
from escalade.exceptions import ConfigError


def _brute_p(errors: int, trials: int, bound: float) -> float:
    return sum(math.comb(trials, k) * bound**k * (1 - bound) ** (trials - k) for k in range(errors + 1))


def _brute_selective(scores: list[float], right: list[bool], alpha: float, delta: float) -> float | None:
    """The fixed-sequence walk written out plainly with exact binomial sums."""
    chosen = None
    for threshold in sorted(set(scores), reverse=True):
        accepted = [r for s, r in zip(scores, right, strict=True) if s >= threshold]
        if _brute_p(0, len(accepted), alpha) > delta:
            continue
        if _brute_p(sum(not r for r in accepted), len(accepted), alpha) > delta:
            break
        chosen = threshold
    return chosen


def test_p_value_and_bounds_by_hand() -> None:
    """Binomial tail and Clopper–Pearson bounds on small cases computed by hand."""
    assert binomial_p_value(0, 10, 0.2) == pytest.approx(0.8**10)
    assert binomial_p_value(1, 2, 0.5) == pytest.approx(0.75)
    assert binomial_p_value(0, 0, 0.1) == 1.0
    # zero errors in n: the upper bound solves (1 - u)^n = delta
    assert clopper_pearson_upper(0, 20, 0.05) == pytest.approx(1 - 0.05 ** (1 / 20))
    # all successes in n: the lower bound solves l^n = delta
    assert clopper_pearson_lower(20, 20, 0.05) == pytest.approx(0.05 ** (1 / 20))
    assert clopper_pearson_upper(5, 5, 0.1) == 1.0
    assert clopper_pearson_lower(0, 5, 0.1) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.booleans()), min_size=1, max_size=60),
    st.sampled_from([0.05, 0.1, 0.2, 0.3]),
    st.sampled_from([0.05, 0.1, 0.2]),
)
def test_selective_error_agrees_with_brute_force(items: list[tuple[int, bool]], alpha: float, delta: float) -> None:
    """The certified threshold is the one a plain walk with exact binomial sums finds."""
    scores = [s / 20 for s, _ in items]
    right = [r for _, r in items]
    result = certify_selective_error(scores, right, alpha=alpha, delta=delta)
    assert result.threshold == _brute_selective(scores, right, alpha, delta)
    assert result.certified == (result.threshold is not None)


def test_no_certifiable_threshold_escalates_everything() -> None:
    """When nothing certifies, the result says so and returns no threshold (not the last one tried)."""
    result = certify_selective_error([0.9, 0.8, 0.7], [False, True, True], alpha=0.1, delta=0.1)
    assert not result.certified
    assert result.threshold is None
    assert "escalate everything" in result.message


def test_selective_error_guarantee_holds_in_simulation() -> None:
    """Over many calibration draws, the true error among accepted items exceeds alpha at most delta of the time."""
    rng = np.random.default_rng(7)
    alpha, delta, violations, trials = 0.1, 0.1, 0, 300
    for _ in range(trials):
        scores = rng.random(400)
        right = rng.random(400) < scores**0.3  # P(right | score s) = s^0.3
        result = certify_selective_error(scores, right, alpha=alpha, delta=delta)
        if result.threshold is None:
            continue
        t = result.threshold
        # population error among accepted items: the mean of 1 - s^0.3 over s uniform on [t, 1]
        risk = ((1 - t) - (1 - t**1.3) / 1.3) / (1 - t)
        violations += int(risk > alpha)
    assert violations / trials <= delta


def test_quality_certification() -> None:
    """Certified quality target: the cascade keeps cheap answers only where little premium quality is lost."""
    rng = np.random.default_rng(3)
    n = 2000
    scores = rng.random(n)
    cheap = rng.random(n) < 0.4 + 0.55 * scores
    premium = rng.random(n) < 0.9
    result = certify_quality(scores, cheap, premium, ratio=0.95, delta=0.1)
    assert result.certified
    assert result.target == "quality_loss"
    assert result.delta == 0.1
    assert result.threshold is not None
    accepted = scores >= result.threshold
    final = np.where(accepted, cheap, premium)
    assert final.mean() >= 0.95 * premium.mean()
    assert "delta split" in result.message


def test_quality_without_premium_successes_cannot_certify() -> None:
    """No right premium answer gives no positive lower bound: nothing is certified."""
    result = certify_quality([0.5, 0.6], [True, True], [False, False], ratio=0.9, delta=0.1)
    assert not result.certified
    assert result.threshold is None


def test_cascade_splits_delta() -> None:
    """Each stage of a cascade is certified at delta / stages."""
    rng = np.random.default_rng(0)
    stage = (rng.random(500), rng.random(500) < 0.95)
    results = certify_cascade([stage, stage], alpha=0.1, delta=0.1)
    assert [r.delta for r in results] == [0.05, 0.05]
    with pytest.raises(ConfigError, match="at least one stage"):
        certify_cascade([], alpha=0.1, delta=0.1)


@pytest.mark.parametrize("grid", [None, 0.1, 0.25])
@pytest.mark.parametrize(("alpha", "delta"), [(0.05, 0.1), (0.2, 0.2), (0.1, 0.01), (0.3, 0.05)])
def test_min_certifiable_items_is_the_smallest_that_certifies(alpha: float, delta: float, grid: float | None) -> None:
    """Error-free calibration sets of distinct scores certify from exactly that many items on, never below."""
    needed = min_certifiable_items(alpha, delta, grid=grid)

    def certifies(n: int) -> bool:
        return certify_selective_error(
            [i / n for i in range(n)], [True] * n, alpha=alpha, delta=delta, grid=grid
        ).certified

    assert certifies(needed)
    assert not any(certifies(n) for n in range(1, needed))


def test_threshold_for_share() -> None:
    """The share threshold escalates about the asked share; 0 escalates nothing and 1 everything."""
    scores = np.linspace(0, 1, 101)
    threshold = threshold_for_share(scores, 0.3)
    assert np.mean(scores < threshold) == pytest.approx(0.3, abs=0.01)
    assert np.mean(scores < threshold_for_share(scores, 0.0)) == 0.0
    assert threshold_for_share(scores, 1.0) == float("inf")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: certify_selective_error([0.1], [True], alpha=0.0, delta=0.1), "alpha must be in"),
        (lambda: certify_selective_error([0.1], [True], alpha=0.1, delta=1.0), "delta must be in"),
        (lambda: certify_selective_error([], [], alpha=0.1, delta=0.1), "non-empty"),
        (lambda: certify_selective_error([0.1, 0.2], [True], alpha=0.1, delta=0.1), "2 scores but 1 labels"),
        (lambda: certify_selective_error([float("nan")], [True], alpha=0.1, delta=0.1), "NaN"),
        (lambda: threshold_for_share([0.1], 1.5), "strong_share"),
        (lambda: certify_quality([0.1], [True], [True], ratio=1.2, delta=0.1), "ratio must be in"),
        (lambda: min_certifiable_items(1.0, 0.1), "bound must be in"),
        (lambda: min_certifiable_items(0.1, 0.1, grid=0.0), "grid must be in"),
    ],
)
def test_bad_calibration_input(call: object, message: str) -> None:
    """Bad levels and mismatched inputs are configuration errors naming the field."""
    with pytest.raises(ConfigError, match=message):
        call()  # type: ignore[operator]
