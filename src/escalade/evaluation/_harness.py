"""Evaluate policies side by side on the same rows, with peer metrics and bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from escalade.evaluation._metrics import CurvePoint, aiq, apgr, bootstrap_ci, cpt, savings_at_target
from escalade.evaluation._policies import Policy
from escalade.exceptions import DatasetError
from escalade.replay import Outcomes

__all__ = ["EvalReport", "PolicyReport", "check_comparable", "evaluate", "sweep_of"]


@dataclass(frozen=True, kw_only=True)
class PolicyReport:
    """One policy's figures. For a curve, the headline point is the cheapest one meeting the target
    (else the best-quality one)."""

    name: str
    kind: str
    quality: float
    cost_usd: float
    cost_ratio: float
    #: Share of rows that called the premium model at the headline point (RouteLLM counts these calls).
    strong_share: float
    coverage: float
    quality_ci: tuple[float, float]
    cost_ci: tuple[float, float]
    savings_at_target: float | None
    aiq: float | None
    apgr: float | None
    cpt50: float | None
    cpt80: float | None
    curve: list[CurvePoint] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "quality": self.quality,
            "cost_usd": self.cost_usd,
            "cost_ratio": self.cost_ratio,
            "strong_share": self.strong_share,
            "coverage": self.coverage,
            "quality_ci95": list(self.quality_ci),
            "cost_usd_ci95": list(self.cost_ci),
            "savings_at_target": self.savings_at_target,
            "aiq": self.aiq,
            "apgr": self.apgr,
            "cpt50": self.cpt50,
            "cpt80": self.cpt80,
            "curve": [[p.cost_ratio, p.quality] for p in self.curve] if self.curve is not None else None,
        }


@dataclass(frozen=True, kw_only=True)
class EvalReport:
    """Every policy on the same rows."""

    dataset: str
    split: str
    rows: int
    premium_model: str
    premium_quality: float
    premium_cost_usd: float
    target_quality: float
    seed: int
    policies: list[PolicyReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "rows": self.rows,
            "premium_model": self.premium_model,
            "premium_quality": self.premium_quality,
            "premium_cost_usd": self.premium_cost_usd,
            "target_quality": self.target_quality,
            "seed": self.seed,
            "policies": [p.to_dict() for p in self.policies],
        }


@dataclass(frozen=True)
class _Point:
    threshold: float | None
    finals: list[str | None]
    spent: NDArray[np.float64]
    graded: NDArray[np.float64]
    strong: NDArray[np.bool_]


def _run(policy: Policy, outcomes: Outcomes, threshold: float | None) -> _Point:
    view = outcomes.view()
    finals = policy.decide(view, threshold)
    if len(finals) != len(outcomes):
        raise ValueError(f"policy {policy.name!r} decided {len(finals)} rows of {len(outcomes)}")
    spent = view.spent()
    graded = np.full(len(outcomes), np.nan)
    premium = outcomes.premium
    strong = np.zeros(len(outcomes), dtype=bool)
    for row, model in enumerate(finals):
        if model is not None:
            if model not in view.paid_models(row):
                raise ValueError(f"policy {policy.name!r} used {model}'s answer on row {row} without paying for it")
            graded[row] = outcomes.scores[row, outcomes.column(model)]
        strong[row] = premium in view.paid_models(row)
    return _Point(threshold, finals, spent, graded, strong)


def check_comparable(outcomes: Outcomes, *, dataset: str, split: str) -> None:
    """Refuse outcomes whose premium model (the baseline of every metric) has no outcome, or cost nothing."""
    costs = outcomes.costs[:, outcomes.column(outcomes.premium)]
    where = f"split {split!r} of {dataset}"
    if np.all(np.isnan(costs)):
        raise DatasetError(
            f"{where}: the premium model {outcomes.premium!r} has no recorded outcome on any row; every policy "
            "is compared with it alone, so it needs outcomes"
        )
    if float(np.nansum(costs)) <= 0:
        raise DatasetError(
            f"{where}: the premium model {outcomes.premium!r} records no cost on any row, so costs relative to it "
            "are undefined"
        )


def sweep_of(policy: Policy) -> list[float | None]:
    """The thresholds ``policy`` is evaluated at (``[None]`` when it has none)."""
    return list(policy.thresholds) or [None]


def _report(
    policy: Policy,
    points: list[_Point],
    *,
    rows: int,
    premium_quality: float,
    premium_cost: float,
    cheap_quality: float | None,
    target: float,
    seed: int,
) -> PolicyReport:
    """One policy's report from its points; ``cheap_quality`` only on two-model data (APGR and CPT need it)."""
    curve = [
        CurvePoint(
            cost_ratio=float(p.spent.sum()) / premium_cost,
            quality=float(np.nanmean(p.graded)) if np.any(~np.isnan(p.graded)) else 0.0,
            strong_share=float(p.strong.mean()),
            threshold=p.threshold,
        )
        for p in points
    ]
    meeting = [i for i, c in enumerate(curve) if c.quality >= target * premium_quality - 1e-12]
    head = (
        min(meeting, key=lambda i: curve[i].cost_ratio)
        if meeting
        else max(range(len(curve)), key=lambda i: curve[i].quality)
    )
    chosen, point = points[head], curve[head]
    answered = chosen.graded[~np.isnan(chosen.graded)]
    has_curve = len(curve) > 1
    weak = cheap_quality
    return PolicyReport(
        name=policy.name,
        kind=policy.kind,
        quality=point.quality,
        cost_usd=float(chosen.spent.sum()),
        cost_ratio=point.cost_ratio,
        strong_share=point.strong_share,
        coverage=float(len(answered) / rows) if rows else 0.0,
        quality_ci=bootstrap_ci(answered, lambda v: float(v.mean()), seed=seed),
        cost_ci=bootstrap_ci(chosen.spent, lambda v: float(v.sum()), seed=seed),
        savings_at_target=savings_at_target(curve, premium_quality=premium_quality, target=target),
        aiq=aiq(curve),
        apgr=apgr(curve, weak_quality=weak, strong_quality=premium_quality) if weak is not None and has_curve else None,
        cpt50=cpt(curve, 0.5, weak_quality=weak, strong_quality=premium_quality) if weak is not None else None,
        cpt80=cpt(curve, 0.8, weak_quality=weak, strong_quality=premium_quality) if weak is not None else None,
        curve=curve if has_curve else None,
    )


def evaluate(
    policies: Sequence[Policy] | Callable[[], Sequence[Policy]],
    outcomes: Outcomes,
    *,
    dataset: str,
    split: str,
    target: float = 0.95,
    seed: int = 0,
    on_point: Callable[[Policy, int, int], None] | None = None,
) -> EvalReport:
    """Run every policy on ``outcomes`` and compute the peer metrics.

    ``outcomes`` are first checked to be comparable (:func:`check_comparable`); ``policies`` may be a
    function that builds them, called only then, so that learned policies are never fitted on
    outcomes that cannot be compared. ``on_point`` is told of each point before it is computed, with
    the points done and the points in all: one per threshold of a policy's sweep (:func:`sweep_of`),
    so a caller can show progress.
    """
    check_comparable(outcomes, dataset=dataset, split=split)
    chosen = list(policies() if callable(policies) else policies)
    points_in_all = sum(len(sweep_of(p)) for p in chosen)
    premium = outcomes.premium
    col = outcomes.column(premium)
    premium_quality = float(np.nanmean(outcomes.scores[:, col]))
    premium_cost = float(np.nansum(outcomes.costs[:, col]))
    cheap_quality = float(np.nanmean(outcomes.scores[:, 0]))
    two_models = len(outcomes.models) == 2
    reports: list[PolicyReport] = []
    done = 0
    for policy in chosen:
        points = []
        for threshold in sweep_of(policy):
            if on_point is not None:
                on_point(policy, done, points_in_all)
            points.append(_run(policy, outcomes, threshold))
            done += 1
        reports.append(
            _report(
                policy, points, rows=len(outcomes), premium_quality=premium_quality, premium_cost=premium_cost,
                cheap_quality=cheap_quality if two_models else None, target=target, seed=seed,
            )
        )  # fmt: skip
    return EvalReport(
        dataset=dataset,
        split=split,
        rows=len(outcomes),
        premium_model=premium,
        premium_quality=premium_quality,
        premium_cost_usd=premium_cost,
        target_quality=target,
        seed=seed,
        policies=reports,
    )
