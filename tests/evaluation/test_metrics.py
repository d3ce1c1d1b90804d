"""Peer metrics against small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalade.evaluation import (
    CurvePoint,
    aiq,
    apgr,
    bootstrap_ci,
    cpt,
    nondecreasing_hull,
    savings_at_target,
)


def pts(*xy: tuple[float, float]) -> list[CurvePoint]:
    return [CurvePoint(cost_ratio=x, quality=y, strong_share=x) for x, y in xy]


def test_hull_drops_dominated_and_concave_points() -> None:
    """A dearer point that is no better is dominated; a point under the chord is not on the hull."""
    hull = nondecreasing_hull(pts((0.0, 0.5), (0.5, 0.6), (0.6, 0.9), (1.0, 0.8)))
    assert hull == [(0.0, 0.5), (0.6, 0.9)]


def test_aiq_hand_computed() -> None:
    """Hull area: 0.6·(0.5+0.9)/2 + 0.4·0.9 = 0.78 over a cost range of 1."""
    assert aiq(pts((0.0, 0.5), (0.5, 0.6), (0.6, 0.9), (1.0, 0.8))) == pytest.approx(0.78)


def test_aiq_edge_cases() -> None:
    """One point scores its quality; no points, None; a flat range keeps the best quality."""
    assert aiq(pts((0.3, 0.7))) == 0.7
    assert aiq([]) is None
    assert aiq(pts((0.3, 0.7), (0.3, 0.8))) == 0.8


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=20))
def test_aiq_bounds(xy: list[tuple[float, float]]) -> None:
    """AIQ lies between the worst and the best quality of the curve."""
    value = aiq(pts(*xy))
    assert value is not None
    assert min(y for _, y in xy) - 1e-9 <= value <= max(y for _, y in xy) + 1e-9


def test_apgr_and_cpt_hand_computed() -> None:
    """AUC = 0.325 + 0.425 = 0.75; APGR = (0.75 - 0.5) / 0.4; CPT at 50% and 80% interpolated."""
    curve = pts((0.0, 0.5), (0.5, 0.8), (1.0, 0.9))
    assert apgr(curve, weak_quality=0.5, strong_quality=0.9) == pytest.approx(0.625)
    assert cpt(curve, 0.5, weak_quality=0.5, strong_quality=0.9) == pytest.approx(1 / 3)
    assert cpt(curve, 0.8, weak_quality=0.5, strong_quality=0.9) == pytest.approx(0.6)


def test_random_mix_recovers_half_the_gap() -> None:
    """The straight line from weak to strong (a random mix) has APGR 0.5 and CPT(50%) 0.5."""
    curve = pts(*[(s / 10, 0.5 + 0.4 * s / 10) for s in range(11)])
    assert apgr(curve, weak_quality=0.5, strong_quality=0.9) == pytest.approx(0.5)
    assert cpt(curve, 0.5, weak_quality=0.5, strong_quality=0.9) == pytest.approx(0.5)


def test_apgr_cpt_undefined_cases() -> None:
    """No gap, one point, or a curve that never reaches the goal give None."""
    curve = pts((0.0, 0.5), (1.0, 0.6))
    assert apgr(curve, weak_quality=0.5, strong_quality=0.5) is None
    assert apgr(curve[:1], weak_quality=0.5, strong_quality=0.9) is None
    assert cpt(curve, 0.8, weak_quality=0.5, strong_quality=0.9) is None
    assert cpt(curve, 0.0, weak_quality=0.5, strong_quality=0.9) == 0.0


def test_savings_at_target() -> None:
    """Cheapest point with quality ≥ 95% of 0.9 = 0.855 is at cost ratio 0.5."""
    curve = pts((0.2, 0.80), (0.5, 0.86), (1.0, 0.9))
    assert savings_at_target(curve, premium_quality=0.9, target=0.95) == pytest.approx(0.5)
    assert savings_at_target(curve, premium_quality=0.9, target=1.01) is None


def test_bootstrap_ci() -> None:
    """The interval contains the mean of a balanced sample, is degenerate for constants, and is seeded."""
    values = np.array([0.0, 1.0] * 200)
    lo, hi = bootstrap_ci(values, lambda v: float(v.mean()), seed=1)
    assert lo < 0.5 < hi
    assert hi - lo < 0.15
    assert bootstrap_ci(values, lambda v: float(v.mean()), seed=1) == (lo, hi)
    assert bootstrap_ci(np.ones(10), lambda v: float(v.mean())) == (1.0, 1.0)
