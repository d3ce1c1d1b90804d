"""Calibrate a learned router or cascade on recorded outcomes, and check the result on held-out rows.

Rows are cut three ways, by seed:

- **fit**: the dataset's train split, or else ``fit_share`` of its rows. A :class:`GainRouter` is
  fitted here (a cascade verifier reads the cheap answer, a pre-router the prompt only).
- **calibration**: ``calibration_share`` of the remaining rows. The threshold is chosen here, for a
  share of strong calls, for a certified selective error, or for a certified quality ratio.
- **check**: the rest. The threshold is applied here, and the report says whether the target held.

Only rows where both the cheap and the premium model have an outcome take part. The others are
counted in ``dropped_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from escalade.calibration import (
    CalibrationResult,
    certify_quality,
    certify_selective_error,
    threshold_for_share,
)
from escalade.evaluation._learned import pick_cheap
from escalade.exceptions import ConfigError
from escalade.replay import BenchmarkDataset, Outcomes
from escalade.routing.learned import GainRouter

__all__ = [
    "CalibrationCheck",
    "CalibrationTarget",
    "ScoredRows",
    "calibrate_rows",
    "prepare_rows",
    "score_rows",
    "score_with",
    "split_rows",
]


@dataclass(frozen=True, kw_only=True)
class CalibrationTarget:
    """Exactly one of ``quality`` (ratio of premium quality), ``alpha`` (selective error) or ``strong_share``."""

    quality: float | None = None
    alpha: float | None = None
    strong_share: float | None = None
    delta: float = 0.1

    def __post_init__(self) -> None:
        given = [name for name in ("quality", "alpha", "strong_share") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ConfigError("give exactly one of quality, alpha or strong_share", field="target")

    def describe(self) -> str:
        if self.quality is not None:
            return f"quality >= {self.quality:g} x premium, w.p. >= {1 - self.delta:g}"
        if self.alpha is not None:
            return f"error among accepted <= {self.alpha:g}, w.p. >= {1 - self.delta:g}"
        return f"{self.strong_share:g} of rows to premium (no quality guarantee)"


@dataclass(frozen=True)
class ScoredRows:
    """Held-out rows with the router's score (higher: keep the cheap answer) and their outcomes."""

    cheap: str
    premium: str
    scores: NDArray[np.float64]
    cheap_right: NDArray[np.bool_]
    premium_right: NDArray[np.bool_]
    cheap_cost: NDArray[np.float64]
    premium_cost: NDArray[np.float64]
    #: Whether the cheap answer is paid for on every row (a cascade) or only on the rows kept cheap.
    cascade: bool
    fit_rows: int
    dropped_rows: int

    def take(self, index: NDArray[np.int64]) -> ScoredRows:
        return ScoredRows(
            cheap=self.cheap,
            premium=self.premium,
            scores=self.scores[index],
            cheap_right=self.cheap_right[index],
            premium_right=self.premium_right[index],
            cheap_cost=self.cheap_cost[index],
            premium_cost=self.premium_cost[index],
            cascade=self.cascade,
            fit_rows=self.fit_rows,
            dropped_rows=self.dropped_rows,
        )


def score_rows(held: Outcomes, fit: Outcomes, *, cascade: bool, seed: int = 0, cheap: str | None = None) -> ScoredRows:
    """Fit a gain router on ``fit`` and score every row of ``held`` that has both outcomes."""
    cheap = cheap or pick_cheap(fit)
    router = GainRouter.fit(fit, cheap=cheap, premium=held.premium, reads_answer=cascade, seed=seed)
    return score_with(router, held, fit_rows=len(fit))


def score_with(router: GainRouter, held: Outcomes, *, fit_rows: int = 0) -> ScoredRows:
    """Score every row of ``held`` where both of ``router``'s models have an outcome."""
    c, p = held.column(router.cheap), held.column(router.premium)
    both = np.flatnonzero(~np.isnan(held.scores[:, c]) & ~np.isnan(held.scores[:, p]))
    prompts = [held.prompts[r] for r in both]
    answers = [held.responses[r][c] for r in both] if router.reads_answer else None
    return ScoredRows(
        cheap=router.cheap,
        premium=router.premium,
        scores=-router.priority(prompts, answers),
        cheap_right=held.right(both, router.cheap),
        premium_right=held.right(both, router.premium),
        cheap_cost=held.costs[both, c],
        premium_cost=held.costs[both, p],
        cascade=router.reads_answer,
        fit_rows=fit_rows,
        dropped_rows=len(held) - len(both),
    )


@dataclass(frozen=True)
class CalibrationCheck:
    """A calibrated threshold and how it did on the check rows."""

    target: CalibrationTarget
    result: CalibrationResult
    check_rows: int
    accepted_share: float
    quality: float
    premium_quality: float
    cost_ratio: float
    #: Whether the target held on the check rows (``None`` for a share target, which promises no quality).
    held: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.describe(),
            "threshold": self.result.threshold,
            "certified": self.result.certified,
            "message": self.result.message,
            "calibration_rows": self.result.calibration_items,
            "calibration_accepted_share": self.result.accepted_share,
            "check_rows": self.check_rows,
            "check_accepted_share": self.accepted_share,
            "check_quality": self.quality,
            "check_premium_quality": self.premium_quality,
            "check_cost_ratio": self.cost_ratio,
            "target_held": self.held,
        }


def _share_result(rows: ScoredRows, share: float, delta: float) -> CalibrationResult:
    threshold = threshold_for_share(rows.scores, share)
    accepted = rows.scores >= threshold
    return CalibrationResult(
        threshold=threshold,
        certified=False,
        target="strong_share",
        bound=share,
        delta=delta,
        accepted_share=float(accepted.mean()),
        empirical_risk=float(np.mean(~rows.cheap_right[accepted])) if accepted.any() else 0.0,
        risk_upper=1.0,
        tested=1,
        calibration_items=len(rows.scores),
        message=f"accept when score >= {threshold:.6g}: about {share:g} of rows to premium, no quality guarantee",
    )


def calibrate_rows(calibration: ScoredRows, check: ScoredRows, target: CalibrationTarget) -> CalibrationCheck:
    """Choose the threshold on ``calibration`` and apply it to ``check``."""
    if target.quality is not None:
        result = certify_quality(
            calibration.scores,
            calibration.cheap_right,
            calibration.premium_right,
            ratio=target.quality,
            delta=target.delta,
        )
    elif target.alpha is not None:
        result = certify_selective_error(
            calibration.scores, calibration.cheap_right, alpha=target.alpha, delta=target.delta
        )
    else:
        result = _share_result(calibration, target.strong_share or 0.0, target.delta)
    threshold = result.threshold
    accepted = check.scores >= threshold if threshold is not None else np.zeros(len(check.scores), dtype=bool)
    final = np.where(accepted, check.cheap_right, check.premium_right)
    paid = np.where(accepted, check.cheap_cost, check.premium_cost) + (
        np.where(accepted, 0.0, check.cheap_cost) if check.cascade else 0.0
    )
    premium_quality = float(check.premium_right.mean()) if len(final) else 0.0
    quality = float(final.mean()) if len(final) else 0.0
    held: bool | None = None
    if target.quality is not None:
        held = quality >= target.quality * premium_quality - 1e-12
    elif target.alpha is not None:
        held = bool(not accepted.any() or np.mean(~check.cheap_right[accepted]) <= target.alpha + 1e-12)
    return CalibrationCheck(
        target=target,
        result=result,
        check_rows=len(final),
        accepted_share=float(accepted.mean()) if len(final) else 0.0,
        quality=quality,
        premium_quality=premium_quality,
        cost_ratio=float(paid.sum() / check.premium_cost.sum()) if check.premium_cost.sum() > 0 else 0.0,
        held=held,
    )


def prepare_rows(dataset: BenchmarkDataset, *, cascade: bool, fit_share: float = 1 / 3, seed: int = 0) -> ScoredRows:
    """Fit on the train split (else on ``fit_share`` of the rows, by seed) and score the other rows."""
    if not 0 < fit_share < 1:
        raise ConfigError(f"fit_share must be in (0, 1), got {fit_share}", field="fit_share")
    if "train" in dataset.splits and len(dataset.splits) > 1:
        fit = Outcomes.from_rows(dataset, dataset.rows("train"))
        held = Outcomes.from_rows(dataset, dataset.rows(next(s for s in dataset.splits if s != "train")))
    else:
        everything = Outcomes.from_rows(dataset, dataset.rows(dataset.default_split()))
        order = np.random.default_rng(seed).permutation(len(everything))
        cut = round(fit_share * len(everything))
        fit, held = everything.subset(order[:cut]), everything.subset(order[cut:])
    if len(fit) == 0 or len(held) == 0:
        raise ConfigError(f"{dataset.name} has too few rows to fit and calibrate", field="rows")
    return score_rows(held, fit, cascade=cascade, seed=seed)


def split_rows(rows: ScoredRows, *, calibration_share: float = 0.5, seed: int = 0) -> tuple[ScoredRows, ScoredRows]:
    """Calibration rows and check rows, drawn at random by seed."""
    if not 0 < calibration_share < 1:
        raise ConfigError(f"calibration_share must be in (0, 1), got {calibration_share}", field="calibration_share")
    order = np.random.default_rng(seed).permutation(len(rows.scores))
    cut = round(calibration_share * len(order))
    if cut == 0 or cut == len(order):
        raise ConfigError(f"{len(order)} scored rows are too few to split", field="calibration_share")
    return rows.take(order[:cut]), rows.take(order[cut:])
