"""Cost–quality metrics our peers publish, so escalade's numbers compare directly.

A policy with a threshold gives a *curve*: one :class:`CurvePoint` per threshold, each with the cost
relative to running the premium model on every row (``cost_ratio``), the mean recorded quality, and
the share of rows that called the strong model.

- **AIQ** (RouterBench, Hu et al. 2024): the area under the non-decreasing convex hull of the
  cost–quality curve over the curve's cost range, divided by that range; a single point's AIQ is its
  quality. Higher is better; it rewards a policy for reaching high quality cheaply at every budget.
- **APGR** (RouteLLM, Ong et al. 2024), for two-model datasets: with
  ``PGR(q) = (q - q_weak) / (q_strong - q_weak)``, the area under PGR against the share of strong
  calls, i.e. ``(AUC - AUC_weak) / (AUC_strong - AUC_weak)`` over the measured range of shares.
- **CPT(x%)** (RouteLLM): the smallest share of strong calls at which the curve reaches
  ``q_weak + x·(q_strong - q_weak)``, interpolated linearly between measured points.
- **Savings at a quality target** (escalade): ``1 - cost_ratio`` of the cheapest point whose
  quality is at least ``target × q_premium``; ``None`` when no point reaches it.

>>> pts = [CurvePoint(cost_ratio=0.1, quality=0.6), CurvePoint(cost_ratio=1.0, quality=0.9)]
>>> round(aiq(pts), 4)
0.75
>>> savings_at_target(pts, premium_quality=0.9, target=0.95)
0.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CurvePoint", "aiq", "apgr", "bootstrap_ci", "cpt", "nondecreasing_hull", "savings_at_target"]


@dataclass(frozen=True, kw_only=True)
class CurvePoint:
    """One operating point of a policy."""

    #: Cost divided by the premium-only cost on the same rows.
    cost_ratio: float
    #: Mean recorded quality (score) of the final answers.
    quality: float
    #: Share of rows that called the strong (premium) model, in [0, 1].
    strong_share: float = 0.0
    #: The policy threshold that produced the point, if any.
    threshold: float | None = None


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def nondecreasing_hull(points: Sequence[CurvePoint]) -> list[tuple[float, float]]:
    """Vertices ``(cost_ratio, quality)`` of the upper convex hull, made non-decreasing in quality.

    Points that cost more but do no better than a cheaper point are dominated and dropped first.
    """
    ordered = sorted({(p.cost_ratio, p.quality) for p in points})
    if not ordered:
        return []
    frontier: list[tuple[float, float]] = []
    for point in ordered:  # keep only points that improve on every cheaper one
        if not frontier or point[1] > frontier[-1][1]:
            if frontier and point[0] == frontier[-1][0]:
                frontier.pop()
            frontier.append(point)
    hull: list[tuple[float, float]] = []
    for point in frontier:  # upper hull (monotone chain)
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], point) >= 0:
            hull.pop()
        hull.append(point)
    return hull


def aiq(points: Sequence[CurvePoint]) -> float | None:
    """RouterBench's Average Improvement in Quality over the curve's cost range (``None``: no points)."""
    if not points:
        return None
    hull = nondecreasing_hull(points)
    lo = min(p.cost_ratio for p in points)
    hi = max(p.cost_ratio for p in points)
    if hi - lo <= 0 or len(hull) == 1:
        return max(p.quality for p in points)
    xs = [x for x, _ in hull] + ([hi] if hull[-1][0] < hi else [])
    ys = [y for _, y in hull] + ([hull[-1][1]] if hull[-1][0] < hi else [])
    return float(np.trapezoid(ys, xs) / (hi - lo))


def _by_share(points: Sequence[CurvePoint]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ordered = sorted(points, key=lambda p: (p.strong_share, p.quality))
    return (
        np.array([p.strong_share for p in ordered], dtype=float),
        np.array([p.quality for p in ordered], dtype=float),
    )


def apgr(points: Sequence[CurvePoint], *, weak_quality: float, strong_quality: float) -> float | None:
    """RouteLLM's average performance gap recovered (``None`` without a gap or a range of shares)."""
    if len(points) < 2 or strong_quality == weak_quality:
        return None
    shares, qualities = _by_share(points)
    span = shares[-1] - shares[0]
    if span <= 0:
        return None
    auc = float(np.trapezoid(qualities, shares))
    return float((auc - weak_quality * span) / ((strong_quality - weak_quality) * span))


def cpt(points: Sequence[CurvePoint], fraction: float, *, weak_quality: float, strong_quality: float) -> float | None:
    """RouteLLM's call-performance threshold: least share of strong calls reaching ``fraction`` of the gap.

    Returns ``None`` when the curve never reaches that quality.
    """
    if not points or strong_quality == weak_quality:
        return None
    goal = weak_quality + fraction * (strong_quality - weak_quality)
    shares, qualities = _by_share(points)
    if qualities[0] >= goal:
        return float(shares[0])
    for i in range(1, len(shares)):
        if qualities[i] >= goal:
            q0, q1, s0, s1 = qualities[i - 1], qualities[i], shares[i - 1], shares[i]
            return float(s0 + (goal - q0) * (s1 - s0) / (q1 - q0)) if q1 != q0 else float(s1)
    return None


def savings_at_target(points: Sequence[CurvePoint], *, premium_quality: float, target: float) -> float | None:
    """``1 - cost_ratio`` of the cheapest point with quality ≥ ``target × premium_quality``."""
    meeting = [p.cost_ratio for p in points if p.quality >= target * premium_quality - 1e-12]
    return 1.0 - min(meeting) if meeting else None


def bootstrap_ci(
    values: NDArray[np.float64],
    statistic: Callable[[NDArray[np.float64]], float],
    *,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over rows resampled with replacement."""
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(rounds, len(values)))
    stats = np.array([statistic(values[idx]) for idx in picks])
    tail = (1.0 - level) / 2
    return float(np.quantile(stats, tail)), float(np.quantile(stats, 1.0 - tail))
