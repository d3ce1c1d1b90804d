"""The learned cascade with a *certified* threshold, as a policy of ``escalade eval``.

Each fold's training rows are cut in two by seed: two thirds fit the verifier (a
:class:`~escalade.routing.learned._gain.GainRouter` reading the cheap answer), and one third calibrates. For a
quality ratio ``r`` (the policy's threshold, swept from 0.8 to 0.99), the threshold is certified with
:func:`~escalade.calibration._thresholds.certify_quality`, so that quality ≥ r × premium quality holds with
probability ≥ 1 − ``delta``. The evaluated rows are then decided with it. Where nothing certifies,
every row escalates. This shows what a guarantee costs next to the uncertified verifier, whose
curve is swept over the share of escalations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from escalade.calibration import certify_quality
from escalade.evaluation._calibrate import ScoredRows, score_with
from escalade.evaluation._learned import Fold, pay_all
from escalade.exceptions import ConfigError
from escalade.replay import RuntimeView
from escalade.routing.learned import GainRouter

__all__ = ["CertifiedCascadePolicy"]

_FIT_SHARE = 2 / 3


@dataclass
class CertifiedCascadePolicy:
    """Cheap answer first; escalate unless the verifier's score passes a threshold certified on held-back rows."""

    folds: list[Fold]
    cheap: str
    premium: str
    seed: int = 0
    delta: float = 0.1
    kind: str = "cascade"
    name: str = "cascade-verifier-certified"
    #: Quality ratios to certify (each gives one point of the curve).
    thresholds: Sequence[float] = (0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99)
    _fitted: dict[int, tuple[GainRouter, ScoredRows] | None] = field(default_factory=dict, repr=False)
    _scores: dict[tuple[int, int], NDArray[np.float64]] = field(default_factory=dict, repr=False)

    def _fold(self, index: int) -> tuple[GainRouter, ScoredRows] | None:
        if index not in self._fitted:
            train = self.folds[index].train
            order = np.random.default_rng(self.seed).permutation(len(train))
            cut = round(_FIT_SHARE * len(train))
            fit, calibration = train.subset(order[:cut]), train.subset(order[cut:])
            try:
                router = GainRouter.fit(fit, cheap=self.cheap, premium=self.premium, reads_answer=True, seed=self.seed)
            except ConfigError:  # no fitting row with both outcomes: nothing can be certified
                self._fitted[index] = None
            else:
                self._fitted[index] = (router, score_with(router, calibration, fit_rows=len(fit)))
        return self._fitted[index]

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        ratio = 0.95 if threshold is None else threshold
        answers, answered = pay_all(view, self.cheap)
        accept = np.zeros(len(view), dtype=bool)
        for index, fold in enumerate(self.folds):
            fitted = self._fold(index)
            if fitted is None or len(fitted[1].scores) == 0:
                continue
            router, calibration = fitted
            key = (id(view.prompts), index)
            if key not in self._scores:
                prompts = [view.prompts[r] for r in fold.rows]
                self._scores[key] = -router.priority(prompts, [answers[r] for r in fold.rows])
            result = certify_quality(
                calibration.scores, calibration.cheap_right, calibration.premium_right, ratio=ratio, delta=self.delta
            )
            if result.threshold is not None:
                accept[fold.rows] = self._scores[key] >= result.threshold
        finals: list[str | None] = []
        for row in range(len(view)):
            if answered[row] and accept[row]:
                finals.append(self.cheap)
            elif view.pay(row, self.premium) is not None:
                finals.append(self.premium)
            else:
                finals.append(self.cheap if answered[row] else None)
        return finals
