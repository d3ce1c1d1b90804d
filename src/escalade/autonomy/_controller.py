"""The AutonomyController (seed 003): may this action proceed without a person?

Confidence is a weighted sum of four factors, each in [0, 1]::

    confidence = 0.30·past_success_rate + 0.20·familiarity + 0.30·(1 − risk) + 0.20·(1 − complexity)

(weights configurable through :class:`ConfidenceWeights`). Every factor comes from a trusted source
and says which:

- ``past_success_rate`` (**history**): the share of this workspace's labelled decisions of the same
  type where the agent's proposed action was right, as a Beta posterior mean with a prior worth 4
  decisions (so one failure early on does not zero it);
- ``familiarity`` (**history**): experience with the type (``n / (n + 10)`` labelled decisions),
  averaged with how often the affected files and systems were touched successfully before;
- ``risk`` (**classifier**): production, security, deletion, irreversibility, breaking changes,
  compliance, money, slow-downs and scope, combined so that each adds risk and none removes it;
- ``complexity`` (**context**): files, systems and scope touched, a breaking change, steps and
  invariants named in the description, and (with a repository root) the cyclomatic complexity of the
  affected Python files.

**Cold start.** Where the workspace has no history for a factor, the factor comes from a **prior**
of the decision's own risk, scope, environment and reversibility
(:func:`~escalade.autonomy._factors.prior_of`), marked ``prior``, not from the empty history:
``past_success_rate``'s prior is ``0.5 + 0.4·(1 − risk)`` for local, reversible, non-production work
and at most 0.7 (seed 003's prior) for the rest, and local, reversible, non-production work counts
as up to half of ``familiarity_scale`` decisions' worth of experience, less as its risk grows (none
at risk 0.6; none for the rest). The history's weight grows with every labelled decision, so the
prior fades. A fixed ``prior_success_rate`` (seed 003's 0.7) turns the decision's own prior off for
that factor.

Factors the *caller* states (``Decision.confidence_factors``) are never taken on trust: by default
(``caller_factors="cautious"``) one is used only where it makes the decision more cautious, and it
is marked ``caller``. ``"ignore"`` drops them; ``"trust"`` uses them as given (still marked).

Seed 003's names work too: :meth:`~AutonomyController.compute_confidence` (the formula over given
factors, by today's names or the seed's ``context_familiarity``, ``risk_assessment``,
``input_complexity``), :meth:`~AutonomyController.get_historical_success_rate` (the
``past_success_rate`` factor of a type) and :meth:`~AutonomyController.record_outcome` (what
:meth:`EscalationEngine.record_outcome <escalade.autonomy._engine.EscalationEngine.record_outcome>` does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from escalade.autonomy._classify import Classification, DecisionClassifier
from escalade.autonomy._decisions import Decision, DecisionContext, DecisionType, parse_decision
from escalade.autonomy._factors import CAUTIOUS_PRIOR, Prior, complexity_of, prior_of, risk_of
from escalade.autonomy._history import AutonomyStore, Outcome, TypeStats, area_keys
from escalade.autonomy._memory import MemoryAutonomyStore
from escalade.autonomy._profiles import DEFAULT_PROFILE, PROFILES, AutomationProfile
from escalade.exceptions import ConfigError

if TYPE_CHECKING:
    from escalade.autonomy._engine import OutcomeResult

__all__ = [
    "FACTOR_NAMES",
    "AutonomyController",
    "CallerPolicy",
    "ConfidenceFactor",
    "ConfidenceWeights",
    "EscalationDecision",
    "FactorSource",
]

FactorSource = Literal["history", "prior", "classifier", "context", "caller"]
CallerPolicy = Literal["ignore", "cautious", "trust"]
#: The four factors, in formula order.
FACTOR_NAMES = ("past_success_rate", "familiarity", "risk", "complexity")
#: For these factors a higher value means more confidence; for the others, less.
_POSITIVE = frozenset({"past_success_rate", "familiarity"})
#: Seed 003's factor names, by today's name.
_SEED_FACTORS = {
    "context_familiarity": "familiarity",
    "codebase_familiarity": "familiarity",
    "risk_assessment": "risk",
    "input_complexity": "complexity",
    "invariant_complexity": "complexity",
}


@dataclass(frozen=True, kw_only=True)
class ConfidenceWeights:
    """Weights of the four factors; they must be non-negative and sum to 1."""

    past_success_rate: float = 0.30
    familiarity: float = 0.20
    risk: float = 0.30
    complexity: float = 0.20

    def __post_init__(self) -> None:
        values = [getattr(self, n) for n in FACTOR_NAMES]
        for name, value in zip(FACTOR_NAMES, values, strict=True):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"weight {name} must be a number >= 0, got {value!r}", field=f"weights.{name}")
        if abs(sum(values) - 1.0) > 1e-6:
            raise ConfigError(f"the four weights must sum to 1, they sum to {sum(values):g}", field="weights")


@dataclass(frozen=True)
class ConfidenceFactor:
    """One factor's value, where it came from, and how it was derived."""

    value: float
    source: FactorSource
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 4), "source": self.source, "detail": self.detail}


@dataclass(frozen=True, kw_only=True)
class EscalationDecision:
    """The controller's answer."""

    proceed: bool
    confidence: float
    factors: Mapping[str, ConfidenceFactor]
    explanation: str
    #: The confidence that was needed.
    threshold: float
    profile: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "proceed": self.proceed,
            "confidence": self.confidence,
            "threshold": self.threshold,
            "profile": self.profile,
            "factors": {name: f.to_dict() for name, f in self.factors.items()},
            "explanation": self.explanation,
        }


class AutonomyController:
    """Computes confidence from trusted factors and compares it with a profile's threshold."""

    def __init__(
        self,
        store: AutonomyStore | None = None,
        *,
        weights: ConfidenceWeights | None = None,
        classifier: DecisionClassifier | None = None,
        caller_factors: CallerPolicy = "cautious",
        prior_success_rate: float | None = None,
        prior_strength: float = 4.0,
        familiarity_scale: float = 10.0,
    ) -> None:
        if caller_factors not in ("ignore", "cautious", "trust"):
            raise ConfigError("caller_factors is ignore, cautious or trust", field="caller_factors")
        bad_prior = prior_success_rate is not None and not 0 <= prior_success_rate <= 1
        if bad_prior or prior_strength <= 0 or familiarity_scale <= 0:
            raise ConfigError(
                "prior_success_rate must be in [0, 1]; prior_strength and familiarity_scale > 0",
                field="prior_success_rate",
            )
        self.store: AutonomyStore = store if store is not None else MemoryAutonomyStore()
        self.weights = weights or ConfidenceWeights()
        self.classifier = classifier or DecisionClassifier()
        self.caller_factors = caller_factors
        self.prior_success_rate = prior_success_rate
        self.prior_strength = prior_strength
        self.familiarity_scale = familiarity_scale

    def factors(
        self, decision: Decision, context: DecisionContext, classification: Classification | None = None
    ) -> dict[str, ConfidenceFactor]:
        """The four factors, each from its trusted source, then the caller's under the caller policy."""
        c = classification or self.classifier.classify(decision)
        stats = self.store.type_stats(context.workspace, c.type.value)
        risk, risk_detail = risk_of(c)
        prior = prior_of(c, risk)
        complexity, complexity_detail = complexity_of(decision, c, context.root)
        found = {
            "past_success_rate": self._past_factor(stats, c, prior),
            "familiarity": self._familiarity(decision, context, c, stats, prior),
            "risk": ConfidenceFactor(risk, "classifier", risk_detail),
            "complexity": ConfidenceFactor(complexity, "context", complexity_detail),
        }
        return self._with_caller(found, decision)

    def _past_factor(self, stats: TypeStats, c: Classification, prior: Prior) -> ConfidenceFactor:
        labelled = stats.successes + stats.failures
        rate = self._prior_rate(prior)
        value = self._past_success_rate(stats, rate)
        where = f"prior {rate:.2f}" + (f" from {prior.detail}" if self.prior_success_rate is None else "")
        if labelled == 0:
            return ConfidenceFactor(value, "prior", f"no labelled {c.type.value} decisions yet: {where}")
        return ConfidenceFactor(
            value, "history", f"{stats.successes} right, {stats.failures} wrong of {c.type.value} ({where})"
        )

    def _familiarity(
        self, decision: Decision, context: DecisionContext, c: Classification, stats: TypeStats, prior: Prior
    ) -> ConfidenceFactor:
        """Experience with the type and the files and systems touched, the prior's worth included."""
        labelled = stats.successes + stats.failures
        pseudo = self.familiarity_scale * prior.experience
        type_familiarity = (labelled + pseudo) / (labelled + pseudo + self.familiarity_scale)
        detail = f"{labelled} labelled {c.type.value} decisions"
        if pseudo:
            detail += f" and a prior worth {pseudo:.1f} ({prior.detail})"
        areas = list(area_keys(decision.affected_files, decision.affected_systems))
        seen = self.store.area_stats(context.workspace, areas) if areas else {}
        familiarity = type_familiarity
        if areas:
            # An area never touched counts as the prior's experience, fading as the type's history grows.
            unseen = prior.experience * self.familiarity_scale / (self.familiarity_scale + labelled)
            known = [
                seen[a].successes / (seen[a].successes + seen[a].failures + 1) if a in seen else unseen for a in areas
            ]
            familiarity = (type_familiarity + sum(known) / len(known)) / 2
            detail += f"; {sum(1 for a in areas if a in seen)} of {len(areas)} files/systems seen before"
        source: FactorSource = "history" if labelled or seen else "prior"
        return ConfidenceFactor(familiarity, source, detail)

    def _prior_rate(self, prior: Prior | None) -> float:
        if self.prior_success_rate is not None:
            return self.prior_success_rate
        return prior.success_rate if prior is not None else CAUTIOUS_PRIOR

    def _past_success_rate(self, stats: TypeStats, prior_rate: float) -> float:
        """The Beta posterior mean of being right, from a type's labelled decisions and the prior."""
        labelled = stats.successes + stats.failures
        return (stats.successes + prior_rate * self.prior_strength) / (labelled + self.prior_strength)

    def get_historical_success_rate(self, operation_type: DecisionType | str, *, workspace: str = "default") -> float:
        """Seed 003's name: the ``past_success_rate`` factor of ``operation_type`` (a :class:`DecisionType`).

        The share of the workspace's labelled decisions of the type where the proposed action was
        right, with a prior worth 4 decisions until outcomes say otherwise: ``prior_success_rate`` if
        set, else 0.7 (a type alone says nothing of a decision's own risk).
        """
        decision_type = _decision_type(operation_type)
        return self._past_success_rate(self.store.type_stats(workspace, decision_type.value), self._prior_rate(None))

    def record_outcome(
        self, decision_id: str, outcome: Outcome, *, workspace: str = "default", at: datetime | None = None
    ) -> OutcomeResult:
        """Seed 003's name: :meth:`EscalationEngine.record_outcome` on this controller's store.

        The outcome of a decision the engine evaluated (and stored) counts in the type's
        :meth:`get_historical_success_rate` from then on. The engine here has the default learning
        settings; with an engine of your own, call its ``record_outcome``.
        """
        from escalade.autonomy._engine import EscalationEngine  # noqa: PLC0415  (the engine builds on this module)

        return EscalationEngine(self.store, controller=self).record_outcome(
            decision_id, outcome, workspace=workspace, at=at
        )

    def _with_caller(self, found: dict[str, ConfidenceFactor], decision: Decision) -> dict[str, ConfidenceFactor]:
        stated = decision.confidence_factors.model_dump(exclude_none=True) if decision.confidence_factors else {}
        for name, value in stated.items():
            trusted = found[name]
            cautious = value < trusted.value if name in _POSITIVE else value > trusted.value
            if self.caller_factors == "trust" or (self.caller_factors == "cautious" and cautious):
                found[name] = ConfidenceFactor(
                    value, "caller", f"stated by the caller (trusted value {trusted.value:.2f})"
                )
            else:
                why = (
                    "caller factors are ignored"
                    if self.caller_factors == "ignore"
                    else "only more cautious values count"
                )
                found[name] = ConfidenceFactor(
                    trusted.value, trusted.source, f"{trusted.detail}; caller stated {value:.2f}, not used ({why})"
                )
        return found

    def confidence(self, factors: Mapping[str, ConfidenceFactor]) -> float:
        """The weighted sum of the factors (risk and complexity inverted)."""
        w = self.weights
        value = (
            w.past_success_rate * factors["past_success_rate"].value
            + w.familiarity * factors["familiarity"].value
            + w.risk * (1 - factors["risk"].value)
            + w.complexity * (1 - factors["complexity"].value)
        )
        return round(min(max(value, 0.0), 1.0), 4)

    def compute_confidence(
        self, factors: Mapping[str, ConfidenceFactor | float], operation_type: DecisionType | str | None = None
    ) -> float:
        """Seed 003's name: :meth:`confidence` over ``factors``, given as numbers or as factors.

        Factors go by today's names or by seed 003's (``context_familiarity`` or
        ``codebase_familiarity`` is ``familiarity``, ``risk_assessment`` is ``risk``,
        ``input_complexity`` or ``invariant_complexity`` is ``complexity``); each is in [0, 1].
        ``operation_type`` is checked and otherwise unused: the weights are the same for every type.

        >>> AutonomyController().compute_confidence(
        ...     {"past_success_rate": 0.9, "context_familiarity": 0.5, "risk_assessment": 0.2, "input_complexity": 0.1}
        ... )
        0.79
        """
        if operation_type is not None:
            _decision_type(operation_type)
        named: dict[str, ConfidenceFactor] = {}
        for given, factor in factors.items():
            name = _SEED_FACTORS.get(given, given)
            if name not in FACTOR_NAMES:
                raise ConfigError(f"unknown factor; use {', '.join(FACTOR_NAMES)}", field=given)
            value = factor.value if isinstance(factor, ConfidenceFactor) else factor
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(f"must be a number in [0, 1], got {value!r}", field=given)
            if name in named:
                raise ConfigError(f"given twice (as {name} under another name)", field=given)
            named[name] = factor if isinstance(factor, ConfidenceFactor) else ConfidenceFactor(value, "caller", given)
        missing = [name for name in FACTOR_NAMES if name not in named]
        if missing:
            raise ConfigError(f"missing factor(s) {', '.join(missing)}", field="factors")
        return self.confidence(named)

    def should_proceed_automatically(
        self,
        operation: Decision | Mapping[str, Any],
        context: DecisionContext | None = None,
        profile: AutomationProfile | str = DEFAULT_PROFILE,
        *,
        threshold: float | None = None,
        classification: Classification | None = None,
    ) -> EscalationDecision:
        """Proceed when confidence reaches the profile's threshold for the decision's type (or ``threshold``)."""
        decision = parse_decision(operation)
        context = context or DecisionContext()
        chosen = _profile(profile)
        c = classification or self.classifier.classify(decision)
        factors = self.factors(decision, context, c)
        confidence = self.confidence(factors)
        needed = chosen.threshold(c.type, read_only=c.read_only) if threshold is None else threshold
        proceed = not chosen.manual and confidence >= needed
        return EscalationDecision(
            proceed=proceed,
            confidence=confidence,
            factors=factors,
            explanation=_explain(proceed, confidence, needed, chosen, c, factors),
            threshold=needed,
            profile=chosen.name,
        )


def _decision_type(value: DecisionType | str) -> DecisionType:
    try:
        return DecisionType(value.strip().lower() if isinstance(value, str) else value)
    except ValueError:
        raise ConfigError(
            f"unknown type {value!r}; use {', '.join(t.value for t in DecisionType)}", field="operation_type"
        ) from None


def _profile(profile: AutomationProfile | str) -> AutomationProfile:
    if isinstance(profile, AutomationProfile):
        return profile
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; use {', '.join(PROFILES)}", field="profile")
    return PROFILES[profile]


def _explain(
    proceed: bool,
    confidence: float,
    needed: float,
    profile: AutomationProfile,
    c: Classification,
    factors: Mapping[str, ConfidenceFactor],
) -> str:
    where = f"profile {profile.name}, {c.type.value}"
    if profile.manual:
        return f"Escalate: the {profile.name} profile asks a person about every action (confidence {confidence:.2f})."
    if proceed:
        return f"Proceed: confidence {confidence:.2f} >= {needed:.2f} ({where})."
    weakest = min(FACTOR_NAMES, key=lambda n: factors[n].value if n in _POSITIVE else 1 - factors[n].value)
    f = factors[weakest]
    return (
        f"Escalate: confidence {confidence:.2f} < {needed:.2f} ({where}); "
        f"weakest factor {weakest} {f.value:.2f} ({f.source}: {f.detail})."
    )
