"""Thresholds for routing and cascades: for a share of strong calls, or certified to a quality target.

Convention: every item of a calibration set has a *score*, the run-time confidence that the cheap
answer is good enough (for a gain router, the negated priority). An item is **accepted** (kept on the
cheap tier) when ``score >= threshold``; the rest escalate.

- :func:`threshold_for_share` is what RouteLLM calibrates: the threshold that escalates a given share
  of the calibration items. It promises nothing about quality.
- :func:`certify_selective_error` picks the lowest threshold (most items accepted) such that, with
  probability at least ``1 - delta`` over the draw of the calibration set, the error rate among
  accepted items is at most ``alpha``.
- :func:`certify_quality` does the same for "quality at least ``ratio`` × premium quality". It splits
  ``delta`` in two: half for a Clopper–Pearson lower bound ``L`` on premium quality, half for
  certifying that the share of items where accepting the cheap answer loses a right premium answer
  is at most ``(1 - ratio) · L``. Together these give final quality ≥ ratio × premium quality.
- :func:`certify_cascade` certifies each stage of a cascade at ``delta / stages`` (Bonferroni), so
  all stages hold together with probability at least ``1 - delta``.

Certification is a fixed-sequence test (the Learn-then-Test procedure of Angelopoulos et al., 2021):
candidate thresholds are ordered from the most conservative (highest) down, an order that depends on
the scores only, never on the labels. Each is tested in turn with the exact binomial (Clopper–Pearson)
p-value of the null hypothesis "risk > target", and the walk stops at the first threshold that fails.
Each test is at level ``delta`` and the sequence needs no multiplicity correction. With ``grid`` set,
only the thresholds where the accepted share first reaches each multiple of ``grid`` are tested (the
grid too depends on the scores alone): one unlucky error near the top then stops the walk less early,
at the price of a coarser threshold. Thresholds that
accept too few items for even zero errors to pass are skipped; that too depends on the scores
alone. When the first threshold tested fails, the result says so and escalates everything
(``threshold = None``). It never returns an uncertified threshold.

>>> scores = [i / 40 for i in range(40, 0, -1)]  # 1.0, 0.975, ..., 0.025
>>> right = [True] * 30 + [False] * 10  # the cheap answer is right on the 30 highest scores
>>> result = certify_selective_error(scores, right, alpha=0.2, delta=0.1)
>>> result.certified, result.threshold, result.accepted_share
(True, 0.2, 0.825)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import beta as beta_distribution
from scipy.stats import binom

from escalade.exceptions import ConfigError

__all__ = [
    "CalibrationResult",
    "binomial_p_value",
    "certify_cascade",
    "certify_quality",
    "certify_selective_error",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "min_certifiable_items",
    "threshold_for_share",
]


@dataclass(frozen=True)
class CalibrationResult:
    """A threshold and what it is certified to do."""

    #: Accept the cheap answer when ``score >= threshold``; ``None``: accept nothing, escalate all.
    threshold: float | None
    certified: bool
    #: ``selective_error`` or ``quality_loss``.
    target: str
    #: The risk bound certified (α, or the allowed quality loss).
    bound: float
    delta: float
    #: On the calibration set, at the chosen threshold.
    accepted_share: float
    empirical_risk: float
    #: Clopper–Pearson upper confidence bound of the risk at level ``delta``.
    risk_upper: float
    #: Candidate thresholds tested before the walk stopped.
    tested: int
    calibration_items: int
    message: str


def _check_level(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ConfigError(f"{name} must be in (0, 1), got {value}", field=name)


def _arrays(scores: ArrayLike, *labels: ArrayLike) -> tuple[NDArray[np.float64], list[NDArray[np.bool_]]]:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) == 0:
        raise ConfigError("calibration needs a non-empty list of scores", field="scores")
    if np.any(np.isnan(s)):
        raise ConfigError("calibration scores contain NaN", field="scores")
    out = [np.asarray(y, dtype=bool) for y in labels]
    for y in out:
        if y.shape != s.shape:
            raise ConfigError(f"{len(s)} scores but {len(y)} labels", field="labels")
    return s, out


def binomial_p_value(errors: int, trials: int, bound: float) -> float:
    """Exact p-value of "risk > ``bound``" after ``errors`` in ``trials``: ``P(Bin(trials, bound) <= errors)``."""
    if trials == 0:
        return 1.0
    return float(binom.cdf(errors, trials, bound))


def clopper_pearson_upper(errors: int, trials: int, delta: float) -> float:
    """One-sided ``1 - delta`` upper confidence bound of a binomial rate."""
    if trials == 0 or errors >= trials:
        return 1.0
    return float(beta_distribution.ppf(1 - delta, errors + 1, trials - errors))


def clopper_pearson_lower(successes: int, trials: int, delta: float) -> float:
    """One-sided ``1 - delta`` lower confidence bound of a binomial rate."""
    if trials == 0 or successes <= 0:
        return 0.0
    return float(beta_distribution.ppf(delta, successes, trials - successes + 1))


def threshold_for_share(scores: ArrayLike, strong_share: float) -> float:
    """The threshold that escalates ``strong_share`` of the calibration items (ties may shift it a little)."""
    s, _ = _arrays(scores)
    if not 0 <= strong_share <= 1:
        raise ConfigError(f"strong_share must be in [0, 1], got {strong_share}", field="strong_share")
    if strong_share >= 1:
        return float(np.inf)
    return float(np.quantile(s, strong_share, method="higher"))


def _uncertified(target: str, bound: float, delta: float, items: int, tested: int, why: str) -> CalibrationResult:
    return CalibrationResult(
        threshold=None,
        certified=False,
        target=target,
        bound=bound,
        delta=delta,
        accepted_share=0.0,
        empirical_risk=0.0,
        risk_upper=0.0,
        tested=tested,
        calibration_items=items,
        message=f"{why}: escalate everything (or gather more calibration data)",
    )


def _tested(
    accepted: NDArray[np.int64], counts: NDArray[np.int64], n: int, *, bound: float, delta: float, grid: float | None
) -> NDArray[np.bool_]:
    """Which candidate thresholds the walk tests; they depend on the scores alone, never on the labels.

    A candidate is tested when zero errors among its ``counts`` trials would certify it and, with
    ``grid``, when it is the first to reach a new multiple of ``grid`` of the ``n`` items.
    """
    tested = np.power(1.0 - bound, counts) <= delta
    if grid is not None:
        marks = np.ceil(accepted / n / grid - 1e-9)
        tested &= np.append(True, marks[1:] != marks[:-1])
    return tested


def min_certifiable_items(bound: float, delta: float, *, grid: float | None = None) -> int:
    """The fewest items on which :func:`certify_selective_error` can certify any threshold.

    That is the smallest ``n`` for which the walk tests at least one threshold, with distinct scores
    (ties only ever lower it): with fewer items it escalates everything whatever the labels say.

    >>> min_certifiable_items(0.05, 0.1), min_certifiable_items(0.05, 0.1, grid=0.1)
    (45, 49)
    """
    _check_level("bound", bound)
    _check_level("delta", delta)
    if grid is not None:
        _check_level("grid", grid)
    n = max(1, math.floor(math.log(delta) / math.log1p(-bound)) - 1)  # just below the bound without a grid
    while True:
        accepted = np.arange(1, n + 1)
        if _tested(accepted, accepted, n, bound=bound, delta=delta, grid=grid).any():
            return n
        n += 1


def _fixed_sequence(
    scores: NDArray[np.float64],
    loss: NDArray[np.bool_],
    *,
    over_all: bool,
    bound: float,
    delta: float,
    target: str,
    grid: float | None = None,
) -> CalibrationResult:
    """Walk thresholds from the highest down; ``loss`` marks an item that is bad if accepted.

    The risk at a threshold is the loss rate among accepted items (selective error), or, with
    ``over_all``, the rate of accepted bad items over the whole set.
    """
    n = len(scores)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    # candidate thresholds, highest first, and for each: items accepted (score >= it) and bad ones among them
    last = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    thresholds = ranked[last]
    accepted = last + 1
    bad = np.cumsum(loss[order])[last]
    counts = np.full(len(last), n) if over_all else accepted
    powered = _tested(accepted, counts, n, bound=bound, delta=delta, grid=grid)
    p_values = binom.cdf(bad, counts, bound)
    best: tuple[float, int, int, int] | None = None  # threshold, accepted, errors, trials
    tested = 0
    for i in np.flatnonzero(powered):
        tested += 1
        if p_values[i] > delta:
            break
        best = (float(thresholds[i]), int(accepted[i]), int(bad[i]), int(counts[i]))
    if best is None:
        why = f"no threshold certifies {target} <= {bound:.4g} at delta {delta:g} on {n} items"
        return _uncertified(target, bound, delta, n, tested, why)
    threshold, accepted_count, errors, trials = best
    return CalibrationResult(
        threshold=threshold,
        certified=True,
        target=target,
        bound=bound,
        delta=delta,
        accepted_share=accepted_count / n,
        empirical_risk=errors / trials if trials else 0.0,
        risk_upper=clopper_pearson_upper(errors, trials, delta),
        tested=tested,
        calibration_items=n,
        message=(
            f"accept when score >= {threshold:.6g}: {target} <= {bound:.4g} with probability >= {1 - delta:g}"
            f" ({accepted_count} of {n} calibration items accepted)"
        ),
    )


def certify_selective_error(
    scores: ArrayLike, cheap_correct: ArrayLike, *, alpha: float, delta: float, grid: float | None = None
) -> CalibrationResult:
    """Lowest threshold with error among accepted items ≤ ``alpha``, with probability ≥ ``1 - delta``.

    ``grid`` (a share in (0, 1)): test only one threshold per ``grid`` of the items (see above).
    """
    _check_level("alpha", alpha)
    _check_level("delta", delta)
    if grid is not None:
        _check_level("grid", grid)
    s, (right,) = _arrays(scores, cheap_correct)
    return _fixed_sequence(s, ~right, over_all=False, bound=alpha, delta=delta, target="selective_error", grid=grid)


def certify_quality(
    scores: ArrayLike,
    cheap_correct: ArrayLike,
    premium_correct: ArrayLike,
    *,
    ratio: float,
    delta: float,
) -> CalibrationResult:
    """Lowest threshold whose cascade quality is ≥ ``ratio`` × premium quality, with probability ≥ ``1 - delta``.

    The loss of an accepted item is "premium would have been right and the cheap answer is wrong";
    escalated items get the premium answer.
    """
    _check_level("ratio", ratio)
    _check_level("delta", delta)
    s, (cheap, premium) = _arrays(scores, cheap_correct, premium_correct)
    premium_lower = clopper_pearson_lower(int(premium.sum()), len(premium), delta / 2)
    allowed = (1 - ratio) * premium_lower
    if allowed <= 0:
        why = f"premium quality has no positive lower bound on {len(s)} items"
        return _uncertified("quality_loss", 0.0, delta, len(s), 0, why)
    result = _fixed_sequence(s, premium & ~cheap, over_all=True, bound=allowed, delta=delta / 2, target="quality_loss")
    note = f"; delta split: {delta / 2:g} for premium quality >= {premium_lower:.4f}, {delta / 2:g} for the loss"
    return replace(result, delta=delta, message=result.message + note)


def certify_cascade(
    stages: Sequence[tuple[ArrayLike, ArrayLike]], *, alpha: float, delta: float
) -> list[CalibrationResult]:
    """Certify each stage's selective error at ``delta / len(stages)``; all hold together w.p. ≥ ``1 - delta``.

    ``stages`` holds, per stage, the scores and correctness of the items that reach that stage.
    """
    if not stages:
        raise ConfigError("a cascade needs at least one stage", field="stages")
    share = delta / len(stages)
    return [certify_selective_error(scores, right, alpha=alpha, delta=share) for scores, right in stages]
