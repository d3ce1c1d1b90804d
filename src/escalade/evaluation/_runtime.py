"""Run-time policies for ``escalade run`` (and ``escalade ask --replay``), fitted on rows they never decide.

:func:`fit_runtime_policy` fits, on labelled rows that exclude the rows to be decided (another split
with ``fit_on``, or the other folds of the same split with ``cross_fit``):

- the cheap model: the most accurate one costing at most 15% of the premium model on the fitting rows;
- a *verifier* of its answers (:func:`~escalade.routing.learned.fit_verifier`): every item starts
  cheap and climbs to premium when P(cheap answer right) is below the threshold;
- a prompt-only *router* (:class:`~escalade.routing.learned.GainRouter`): items whose priority
  reaches the cutoff start on premium, the others keep the cheap answer.

The operating point (threshold or cutoff) and the kind of policy are chosen on the fitting rows'
*out-of-fold* predictions, so the chosen point is not optimistic: the cheapest point whose quality
there is at least ``target_quality`` × the premium model's. With ``certify`` the verifier's
threshold is certified instead, as ``escalade calibrate`` does (Clopper–Pearson, level ``delta``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import KFold

from escalade.calibration import certify_quality
from escalade.cascade import WorkItem
from escalade.evaluation._learned import pick_cheap
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.quality import FailureAnalysis, ScorerBase, ScoringContext
from escalade.replay import BenchmarkDataset, Outcomes, ReplayPlan, select_rows
from escalade.routing.learned import (
    MAX_MAGNITUDE,
    CompiledGainRouter,
    CompiledVerifier,
    GainRouter,
    VerifierScorer,
    fit_verifier,
)

__all__ = ["PolicyProvenance", "RuntimePolicy", "fit_operating_verifier", "fit_runtime_policy", "runtime_policy"]

#: Tier names of a run-time policy's two-tier ladder.
CHEAP_TIER, PREMIUM_TIER = "cheap", "premium"
_INNER_FOLDS = 5


class AcceptScorer(ScorerBase):
    """Keeps every answer: the router already chose the item's tier."""

    def score(self, context: ScoringContext) -> FailureAnalysis:
        return FailureAnalysis(signals={"routed": 1.0}, weights={"routed": 1.0}, notes=("kept as routed",))

    def __repr__(self) -> str:
        return "AcceptScorer()"


class PerItemScorer(ScorerBase):
    """Each item judged by the scorer of the fold that decides it (cross-fitting)."""

    def __init__(self, scorers: Mapping[str, ScorerBase], default: ScorerBase) -> None:
        self.scorers, self.default = dict(scorers), default

    def score(self, context: ScoringContext) -> FailureAnalysis:
        result = self.scorers.get(context.item_id, self.default).score(context)
        assert isinstance(result, FailureAnalysis)  # the policies' scorers are synchronous
        return result

    def __repr__(self) -> str:
        return f"PerItemScorer({len(set(map(id, self.scorers.values())))} fold scorers)"


@dataclass(frozen=True, kw_only=True)
class PolicyProvenance:
    """Where a run-time policy came from, and what it did on its fitting rows."""

    #: ``fit-on``, ``cross-fit`` or ``artifacts``.
    source: str
    dataset: str
    #: The split whose rows the policy decides.
    decided_split: str
    #: The split it was fitted on (``fit-on``), the same split's other folds (``cross-fit``), or ``None``.
    fit_split: str | None = None
    folds: int = 1
    #: Fitting rows per fold (their mean with cross-fitting).
    fit_rows: float = 0.0
    #: ``verifier``, ``router`` or ``premium`` (nothing met the target: all items start on premium).
    kind: str = "verifier"
    cheap: str = ""
    premium: str = ""
    target_quality: float = 0.95
    certified: bool | None = None
    delta: float | None = None
    #: Threshold (verifier) or cutoff (router) per fold.
    operating_points: tuple[float, ...] = ()
    #: Out-of-fold quality / premium quality and cost / premium cost on the fitting rows (mean over folds).
    fitted_quality_ratio: float | None = None
    fitted_cost_share: float | None = None
    #: Artifact files the policy was read from.
    files: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the run's report."""
        if self.source == "artifacts":
            return f"policy from {', '.join(self.files)}: {self.kind}, cheap {self.cheap}, premium {self.premium}"
        where = f"split {self.fit_split!r}" if self.source == "fit-on" else f"{self.folds}-fold cross-fitting"
        points = ", ".join(f"{p:.4g}" for p in self.operating_points)
        what = {"verifier": "accept the cheap answer when P(right) >=", "router": "start on premium when priority >="}
        line = (
            f"policy fitted on {where} of {self.dataset} ({self.fit_rows:.0f} rows per fold), never on the rows it "
            f"decides: {self.kind}, cheap {self.cheap}, premium {self.premium}"
        )
        if self.kind in what:
            line += f"; {what[self.kind]} {points}"
        line += f"; target {self.target_quality:.0%} of premium quality"
        if self.certified is not None:
            line += f", certified at delta={self.delta:g}: {'yes' if self.certified else 'no'}"
        if self.fitted_quality_ratio is not None and self.fitted_cost_share is not None:
            line += (
                f"; out of fold on the fitting rows: {self.fitted_quality_ratio:.1%} of premium quality at "
                f"{self.fitted_cost_share:.1%} of its cost"
            )
        return line

    def to_dict(self) -> dict[str, object]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True, kw_only=True)
class RuntimePolicy:
    """A two-tier run-time policy: per-item start tiers from a router, a scorer judging the cheap answer."""

    cheap: str
    premium: str
    #: Judges each answer (a verifier, or keep-as-routed), per item when cross-fitted.
    scorer: ScorerBase
    #: Start tier per item id (items not listed start cheap).
    start_tiers: Mapping[str, str] = field(default_factory=dict)
    #: Prompt-only router deciding items not in ``start_tiers`` (from a ``--router`` artifact).
    router: CompiledGainRouter | None = None
    cutoff: float | None = None
    provenance: PolicyProvenance

    def start_tier(self, item: WorkItem) -> str:
        """The tier ``item`` starts on."""
        if item.id in self.start_tiers:
            return self.start_tiers[item.id]
        if self.router is not None and self.cutoff is not None:
            return PREMIUM_TIER if self.router.priority(item.prompt) >= self.cutoff else CHEAP_TIER
        return CHEAP_TIER

    def config(self, base: EscalationConfig) -> EscalationConfig:
        """``base`` with the policy's two tiers: one cheap attempt judged by the scorer, then premium."""
        cheap = Tier(name=CHEAP_TIER, rank=0, models=(self.cheap,), threshold=50.0, min_attempts=1, team_size=1)
        top = Tier(name=PREMIUM_TIER, rank=1, models=(self.premium,), threshold=0.0, min_attempts=1, team_size=1)
        return base.replace(tiers=Ladder([cheap, top]))

    def apply(self, plan: ReplayPlan) -> ReplayPlan:
        """``plan`` with each item's start tier set and the policy's provenance in its notes."""
        items = tuple(replace(item, start_tier=self.start_tier(item)) for item in plan.items)
        return replace(plan, items=items, notes=(*plan.notes, self.provenance.describe()))


@dataclass(frozen=True)
class _Choice:
    kind: str
    point: float
    quality_ratio: float
    cost_share: float
    certified: bool | None = None


def _oof(train: Outcomes, cheap: str, premium: str, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Out-of-fold P(cheap right) and router priority over the training rows."""
    col = train.column(cheap)
    p, priority = np.full(len(train), np.nan), np.zeros(len(train))
    splitter = KFold(n_splits=min(_INNER_FOLDS, len(train)), shuffle=True, random_state=seed)
    for fit, held in splitter.split(np.arange(len(train))):
        inner = train.subset(fit)
        verifier = fit_verifier(inner, cheap, seed=seed)
        p[held] = [verifier.probability(train.prompts[r], train.responses[r][col]) for r in held]
        try:
            router = GainRouter.fit(inner, cheap=cheap, premium=premium, seed=seed)
            priority[held] = router.priority([train.prompts[r] for r in held])
        except ConfigError:  # no inner row has both outcomes: no preference
            priority[held] = 0.0
    return p, priority


def _outcome(train: Outcomes, model: str) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    col = train.column(model)
    known = ~np.isnan(train.scores[:, col])
    return np.nan_to_num(train.scores[:, col]), np.nan_to_num(train.costs[:, col]), known


def _choose(
    train: Outcomes,
    cheap: str,
    premium: str,
    *,
    target: float,
    certify: bool,
    delta: float,
    seed: int,
    kinds: tuple[str, ...] = ("premium", "verifier", "router"),
) -> _Choice:
    """The cheapest operating point whose out-of-fold quality is ≥ ``target`` × premium's."""
    p, priority = _oof(train, cheap, premium, seed)
    q_c, c_c, k_c = _outcome(train, cheap)
    q_p, c_p, k_p = _outcome(train, premium)
    q_p = np.where(k_p, q_p, q_c)  # no premium outcome: the item keeps what it has
    premium_q, premium_c = float(q_p.mean()), float(c_p.sum()) or 1.0
    if certify:
        result = certify_quality(np.where(k_c, p, -1.0), k_c & (q_c >= 0.5), q_p >= 0.5, ratio=target, delta=delta)
        tau = 1.0 + 1e-9 if result.threshold is None else float(result.threshold)
        accept = k_c & (p >= tau)
        quality = float(np.where(accept, q_c, q_p).mean()) / (premium_q or 1.0)
        cost = float((c_c + np.where(accept, 0.0, c_p)).sum()) / premium_c
        return _Choice("verifier", min(tau, 1.0), quality, cost, result.certified)
    choices: list[_Choice] = [_Choice("premium", 0.0, 1.0, float(c_p.sum()) / premium_c)]
    for tau in np.unique(np.concatenate([p[k_c], [1.0]])):
        accept = k_c & (p >= tau)
        quality = float(np.where(accept, q_c, q_p).mean())
        choices.append(
            _Choice(
                "verifier",
                float(tau),
                quality / (premium_q or 1.0),
                float((c_c + np.where(accept, 0.0, c_p)).sum()) / premium_c,
            )
        )
    for cut in np.unique(np.concatenate([priority, [MAX_MAGNITUDE]])):
        strong = (priority >= cut) | ~k_c
        quality = float(np.where(strong, q_p, q_c).mean())
        choices.append(
            _Choice(
                "router", float(cut), quality / (premium_q or 1.0), float(np.where(strong, c_p, c_c).sum()) / premium_c
            )
        )
    choices = [c for c in choices if c.kind in kinds]
    meeting = [c for c in choices if c.quality_ratio >= target - 1e-12] or [max(choices, key=lambda c: c.quality_ratio)]
    return min(meeting, key=lambda c: (c.cost_share, -c.quality_ratio))


@dataclass(frozen=True)
class _FoldPolicy:
    choice: _Choice
    scorer: ScorerBase
    router: CompiledGainRouter | None
    fit_rows: int


def _fit_fold(
    train: Outcomes, cheap: str, premium: str, *, target: float, certify: bool, delta: float, seed: int
) -> _FoldPolicy:
    choice = _choose(train, cheap, premium, target=target, certify=certify, delta=delta, seed=seed)
    if choice.kind == "verifier":
        verifier: CompiledVerifier = fit_verifier(train, cheap, seed=seed)
        return _FoldPolicy(choice, VerifierScorer(verifier, choice.point), None, len(train))
    router = (
        GainRouter.fit(train, cheap=cheap, premium=premium, seed=seed).compile() if choice.kind == "router" else None
    )
    return _FoldPolicy(choice, AcceptScorer(), router, len(train))


def _folds(
    dataset: BenchmarkDataset, decide_split: str, fit_on: str | None, cross_fit: int | None, limit: int | None
) -> tuple[Outcomes, list[tuple[Outcomes, NDArray[np.int64]]]]:
    """The decided rows, and per fold: the fitting rows and the decided rows it decides."""
    if (fit_on is None) == (cross_fit is None):
        raise ConfigError("give exactly one of fit_on (another split) or cross_fit (k folds)", field="fit_on")
    decided = Outcomes.from_rows(dataset, select_rows(dataset, decide_split, limit))
    everything = np.arange(len(decided))
    if fit_on is not None:
        if fit_on == decide_split:
            raise ConfigError(
                f"cannot fit on split {fit_on!r}: those are the rows being decided; fit on another split "
                "or use cross_fit K (each row decided by policies fitted without it)",
                field="fit_on",
            )
        if fit_on not in dataset.splits:
            raise ConfigError(f"no split {fit_on!r}; the dataset has {', '.join(dataset.splits)}", field="fit_on")
        return decided, [(Outcomes.from_rows(dataset, dataset.rows(fit_on)), everything)]
    assert cross_fit is not None
    if not 2 <= cross_fit <= len(decided):
        raise ConfigError(f"must be between 2 and the {len(decided)} rows, got {cross_fit}", field="cross_fit")
    splitter = KFold(n_splits=cross_fit, shuffle=True, random_state=0)
    return decided, [(decided.subset(fit), held) for fit, held in splitter.split(everything)]


def fit_runtime_policy(
    dataset: BenchmarkDataset,
    decide_split: str,
    *,
    fit_on: str | None = None,
    cross_fit: int | None = None,
    target_quality: float = 0.95,
    certify: bool = False,
    delta: float = 0.05,
    limit: int | None = None,
    seed: int = 0,
) -> RuntimePolicy:
    """Fit a run-time policy for the rows of ``decide_split`` on rows it does not decide (module docstring).

    Give ``fit_on`` (another split) or ``cross_fit`` (k folds over ``decide_split``); ``limit`` keeps
    the first rows of ``decide_split`` as :func:`~escalade.replay.select_rows` does.
    """
    if not 0.0 < target_quality <= 1.0:
        raise ConfigError(f"must be in (0, 1], got {target_quality}", field="target_quality")
    if certify and not 0.0 < delta < 1.0:
        raise ConfigError(f"must be in (0, 1), got {delta}", field="delta")
    decided, folds = _folds(dataset, decide_split, fit_on, cross_fit, limit)
    picked = {pick_cheap(train) for train, _ in folds}
    if len(picked) > 1:
        raise ConfigError(
            f"the folds pick different cheap models ({', '.join(sorted(picked))}); fit on another split instead",
            field="cross_fit",
        )
    cheap, premium = picked.pop(), decided.premium
    scorers: dict[str, ScorerBase] = {}
    start: dict[str, str] = {}
    fitted: list[_FoldPolicy] = []
    for train, rows in folds:
        fold = _fit_fold(train, cheap, premium, target=target_quality, certify=certify, delta=delta, seed=seed)
        fitted.append(fold)
        for r in rows:
            key = decided.keys[r]
            scorers[key] = fold.scorer
            if fold.choice.kind == "premium":
                start[key] = PREMIUM_TIER
            elif fold.router is not None:
                start[key] = (
                    PREMIUM_TIER if fold.router.priority(decided.prompts[r]) >= fold.choice.point else CHEAP_TIER
                )
            else:
                start[key] = CHEAP_TIER
    kinds = sorted({f.choice.kind for f in fitted})
    provenance = PolicyProvenance(
        source="fit-on" if fit_on is not None else "cross-fit",
        dataset=dataset.name,
        decided_split=decide_split,
        fit_split=fit_on,
        folds=len(folds),
        fit_rows=float(np.mean([f.fit_rows for f in fitted])),
        kind="+".join(kinds),
        cheap=cheap,
        premium=premium,
        target_quality=target_quality,
        certified=all(bool(f.choice.certified) for f in fitted) if certify else None,
        delta=delta if certify else None,
        operating_points=tuple(f.choice.point for f in fitted),
        fitted_quality_ratio=float(np.mean([f.choice.quality_ratio for f in fitted])),
        fitted_cost_share=float(np.mean([f.choice.cost_share for f in fitted])),
    )
    scorer = fitted[0].scorer if len(fitted) == 1 else PerItemScorer(scorers, fitted[0].scorer)
    return RuntimePolicy(cheap=cheap, premium=premium, scorer=scorer, start_tiers=start, provenance=provenance)


def runtime_policy(
    dataset: BenchmarkDataset,
    decide_split: str,
    *,
    router: tuple[CompiledGainRouter, float, str] | None = None,
    verifier: tuple[CompiledVerifier, float, str] | None = None,
) -> RuntimePolicy:
    """A policy from saved artifacts: ``(router, cutoff, file)`` and/or ``(verifier, threshold, file)``."""
    if router is None and verifier is None:
        raise ConfigError("give a router or a verifier artifact", field="router")
    models = dataset.models_by_price()
    cheap = verifier[0].model if verifier is not None else router[0].cheap  # type: ignore[index]
    premium = router[0].premium if router is not None else models[-1]
    for name in (cheap, premium):
        if name not in dataset.models:
            raise ConfigError(f"the artifact's model {name!r} is not in dataset {dataset.name!r}", field="model")
    if router is not None and verifier is not None and router[0].cheap != cheap:
        raise ConfigError(
            f"the router's cheap model {router[0].cheap!r} is not the verifier's {cheap!r}", field="cheap"
        )
    files: Sequence[str] = [x[2] for x in (router, verifier) if x is not None]
    kind = "+".join(k for k, x in (("router", router), ("verifier", verifier)) if x is not None)
    provenance = PolicyProvenance(
        source="artifacts",
        dataset=dataset.name,
        decided_split=decide_split,
        kind=kind,
        cheap=cheap,
        premium=premium,
        operating_points=tuple(x[1] for x in (router, verifier) if x is not None),
        files=tuple(files),
    )
    scorer: ScorerBase = VerifierScorer(verifier[0], verifier[1]) if verifier is not None else AcceptScorer()
    return RuntimePolicy(
        cheap=cheap,
        premium=premium,
        scorer=scorer,
        router=router[0] if router is not None else None,
        cutoff=router[1] if router is not None else None,
        provenance=provenance,
    )


def fit_operating_verifier(
    train: Outcomes,
    *,
    cheap: str | None = None,
    target_quality: float = 0.95,
    certify: bool = False,
    delta: float = 0.05,
    seed: int = 0,
) -> tuple[CompiledVerifier, float, dict[str, float | bool | None]]:
    """A verifier of ``cheap``'s answers fitted on ``train``, its threshold, and what it did out of fold.

    The threshold is the lowest whose out-of-fold quality on ``train`` is at least ``target_quality``
    × the premium model's (certified with ``certify``); ``escalade verifier fit`` saves the three.
    """
    model = cheap or pick_cheap(train)
    choice = _choose(
        train, model, train.premium, target=target_quality, certify=certify, delta=delta, seed=seed, kinds=("verifier",)
    )
    facts: dict[str, float | bool | None] = {
        "target_quality": target_quality,
        "oof_quality_ratio": round(choice.quality_ratio, 6),
        "oof_cost_share": round(choice.cost_share, 6),
        "certified": choice.certified,
        "delta": delta if certify else None,
    }
    return fit_verifier(train, model, seed=seed), choice.point, facts
