"""Per-person preference learning (seed 004 §6): which decisions a person approves, with a stated guarantee.

**Evidence.** A person's final answers on inbox items escalated for confidence alone: ``approve``
is an approval; ``reject``, ``modify`` and ``approve_with_conditions`` are not; a delegation or a
deferral is no answer yet. Items a rule, criticality or the profile forced (``forced``) are left
out: they are never auto-approved, so they are not the population the bound is about.

**Similar.** Decisions with the same :class:`~escalade.inbox._preference_keys.PreferenceKey` at a
level: the policy's ``levels`` list the features that define "similar", finest first (by default
every feature, then type and environment alone). The reason says which level was used.

**The guarantee.** For the decisions of one key at one level, let *p* be the probability that this
person approves such a decision when asked. Assume their answers to decisions of that key are
exchangeable (the window's answers and the decision at hand are like draws of the same *p*). A
decision is auto-approved on a level only if the exact one-sided Clopper–Pearson lower bound
(:func:`escalade.calibration.clopper_pearson_lower`) of the window's approvals among its *n*
answers, at ``delta / L`` for ``L`` levels, is at least ``1 - alpha``. If *p* < 1 − α, that check
passes with probability at most δ/L on a level, so at most δ on all ``L`` levels together
(Bonferroni): "P(approve) ≥ 1 − α" then holds with confidence at least 1 − δ for the key the reason
names, and on fresh decisions of that key the expected share the person would not have approved is
at most α. What it does not say: it is a per-decision, per-key statement; checking again after every
answer, for many keys and people, is many tests, and the bound of a coarse key is about its decisions
together, not about a rarer kind among them. The audited error rate of the decisions that proceeded
(:func:`escalade.autonomy.preference_metrics`) is the check over all of them.

**Recency.** The bound counts whole answers in a window: the newest ``window`` (300) similar answers
given within ``max_age_days`` (180). A non-approval counts fully for as long as it is in the window,
and old answers age out, so a person whose decisions proceed is asked again in time. With the
defaults, one non-approval needs 110 similar answers around it before anything is approved, two need
142, and a full window of 300 allows at most 7 (2.3 %). The point estimate ``probability`` weighs
each answer by its age (half-life ``half_life_days``, 30): it is shown, never decides.

**Minimum evidence.** With every answer an approval the bound is (δ/L)^(1/n), so auto-approval needs
n ≥ log(δ/L) / log(1 − α) similar answers: 59 with one level at α = δ = 0.05, 72 with the two
default levels.

>>> from datetime import UTC, datetime
>>> from escalade.autonomy import EscalationEngine, parse_decision
>>> from escalade.inbox import MemoryInboxStore
>>> model = PreferenceModel(MemoryInboxStore())
>>> decision = parse_decision({"description": "Deploy the billing service to staging"})
>>> found = model.predict_preference("ana", (decision, EscalationEngine().preview(decision)))
>>> found.n, found.auto_approve, found.interval
(0, False, (0.0, 1.0))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from escalade.autonomy import Decision, EscalationResult, Priority
from escalade.calibration import clopper_pearson_lower
from escalade.exceptions import ConfigError
from escalade.inbox._items import InboxItem, InboxState, check_name
from escalade.inbox._preference_keys import FEATURES, Feature, PreferenceKey, key_of_decision, key_of_item
from escalade.inbox._store import InboxStore

__all__ = ["DEFAULT_LEVELS", "PreferenceModel", "PreferencePolicy", "PreferencePrediction"]

#: Every feature, then type and environment alone.
DEFAULT_LEVELS: tuple[tuple[Feature, ...], ...] = (FEATURES, ("type", "environment"))
#: What each final action counts as (``True``: an approval).
_APPROVES = {"approve": True, "approve_with_conditions": False, "modify": False, "reject": False}

Target = InboxItem | tuple[Decision, EscalationResult]


@dataclass(frozen=True, kw_only=True)
class PreferencePolicy:
    """When a learned preference may approve (see the module docstring)."""

    #: Largest share of wrong auto-approvals allowed: the bound must reach ``1 - alpha``.
    alpha: float = 0.05
    #: Chance the guarantee may fail, split evenly over the levels.
    delta: float = 0.05
    #: Newest similar answers counted by the bound.
    window: int = 300
    #: Answers older than this (days) are not counted.
    max_age_days: float = 180.0
    #: Half-life (days) of an answer's weight in the point estimate.
    half_life_days: float = 30.0
    #: Feature sets that define "similar", finest first.
    levels: tuple[tuple[Feature, ...], ...] = DEFAULT_LEVELS
    #: Most answered items read per prediction (the person's newest, of every kind).
    history: int = 2000

    def __post_init__(self) -> None:
        for name in ("alpha", "delta"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ConfigError(f"{name} must be in (0, 1), got {value}", field=name)
        for name in ("window", "history"):
            if not 1 <= getattr(self, name) <= 10_000:
                raise ConfigError(f"{name} must be 1 to 10,000, got {getattr(self, name)}", field=name)
        for name in ("max_age_days", "half_life_days"):
            if not 0 < getattr(self, name) <= 3660:
                raise ConfigError(f"{name} must be in (0, 3660] days, got {getattr(self, name)}", field=name)
        if not self.levels or any(not lv or set(lv) - set(FEATURES) for lv in self.levels):
            raise ConfigError(f"levels must be non-empty lists of {', '.join(FEATURES)}", field="levels")

    @property
    def level_delta(self) -> float:
        """The level each level's bound is computed at: ``delta`` over the number of levels."""
        return self.delta / len(self.levels)

    def min_answers(self) -> int:
        """The fewest similar answers that can auto-approve (all of them approvals)."""
        return math.ceil(math.log(self.level_delta) / math.log1p(-self.alpha) - 1e-9)


@dataclass(frozen=True, kw_only=True)
class PreferencePrediction:
    """Whether ``person`` would approve a decision, from their similar past answers."""

    person: str
    #: The similar decisions counted, in words (the level used).
    key: str
    level: int
    #: Similar answers in the window, and the approvals among them.
    n: int
    approvals: int
    #: Recency-weighted share of approvals (``None`` without evidence); shown, never decides.
    probability: float | None
    #: Exact Clopper–Pearson bounds of P(approve), each one-sided at ``delta / levels``.
    interval: tuple[float, float]
    auto_approve: bool
    reason: str


def _answer(item: InboxItem, person: str) -> bool | None:
    """Whether the item's answer is ``person``'s approval (``None``: not evidence)."""
    if item.state is not InboxState.ANSWERED or item.answered_by != person or item.forced:
        return None
    action = (item.response or {}).get("action")
    return _APPROVES.get(action) if isinstance(action, str) else None


def _blocked(target: Target) -> str | None:
    """Why no preference may approve ``target`` (``None``: one may)."""
    forced, critical = (
        (target.forced, target.priority is Priority.CRITICAL)
        if isinstance(target, InboxItem)
        else (target[1].forced or bool(target[1].rule_hits), target[1].priority is Priority.CRITICAL)
    )
    if forced:
        return "a rule, criticality or the profile forced its escalation: only a person may approve it"
    return "it is critical: only a person may approve it" if critical else None


class PreferenceModel:
    """A team's learned preferences, read from their answers in an :class:`~escalade.inbox.InboxStore`.

    It is the engine's :class:`~escalade.autonomy.PreferenceSource`:
    ``EscalationEngine(store, preferences=PreferenceModel(inbox_store))``, then
    ``engine.evaluate(decision, person="ana")``.
    """

    def __init__(
        self,
        store: InboxStore,
        policy: PreferencePolicy | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.policy = policy or PreferencePolicy()
        self._clock = clock

    def predict_preference(
        self, person: str, target: Target, *, workspace: str = "default", now: datetime | None = None
    ) -> PreferencePrediction:
        """How likely ``person`` approves ``target`` (an inbox item, or a decision with the engine's result).

        An item's own answer, if it has one, is not its evidence. A name that cannot be a person's is an
        :class:`~escalade.exceptions.InboxError`; a person with no answers gets ``n = 0`` and no
        auto-approval.
        """
        name = check_name(person, what="person")
        at = now or self._clock()
        key = key_of_item(target) if isinstance(target, InboxItem) else key_of_decision(*target)
        since = at - timedelta(days=self.policy.max_age_days)
        answers = self.store.answered_by(workspace, name, since=since, limit=self.policy.history)
        if isinstance(target, InboxItem):
            answers = [a for a in answers if a.id != target.id]
        return predict(answers, name, key, policy=self.policy, now=at, blocked=_blocked(target))

    def approval(
        self, person: str, decision: Decision, result: EscalationResult, *, workspace: str, now: datetime
    ) -> str | None:
        """The reason ``decision`` may proceed on ``person``'s learned preference, or ``None``."""
        found = self.predict_preference(person, (decision, result), workspace=workspace, now=now)
        return found.reason if found.auto_approve else None


@dataclass(frozen=True)
class _Level:
    index: int
    features: tuple[Feature, ...]
    n: int
    approvals: int
    probability: float | None
    lower: float
    upper: float


def _weight(item: InboxItem, now: datetime, half_life_days: float) -> float:
    when = item.answered_at or item.created_at
    age_days = max(0.0, (now - when).total_seconds() / 86_400)
    return float(0.5 ** (age_days / half_life_days))


def _level(
    evidence: Sequence[tuple[InboxItem, PreferenceKey, bool]],
    key: PreferenceKey,
    index: int,
    policy: PreferencePolicy,
    now: datetime,
) -> _Level:
    features = policy.levels[index]
    target = key.project(features)
    similar = [(item, ok) for item, k, ok in evidence if k.project(features) == target][: policy.window]
    n, approvals = len(similar), sum(ok for _, ok in similar)
    weights = [(_weight(item, now, policy.half_life_days), ok) for item, ok in similar]
    total = sum(w for w, _ in weights)
    probability = sum(w for w, ok in weights if ok) / total if total > 0 else None
    d = policy.level_delta
    lower = clopper_pearson_lower(approvals, n, d)
    upper = 1.0 - clopper_pearson_lower(n - approvals, n, d)
    return _Level(index, features, n, approvals, probability, lower, upper)


def _down(value: float, digits: int) -> float:
    """``value`` rounded down to ``digits`` decimals (a bound shown never looks better than it is)."""
    scale = 10**digits
    return float(math.floor(value * scale) / scale)


def predict(
    answers: Sequence[InboxItem],
    person: str,
    key: PreferenceKey,
    *,
    policy: PreferencePolicy,
    now: datetime,
    blocked: str | None = None,
) -> PreferencePrediction:
    """The prediction for a decision of ``key`` from ``answers`` (any order; those not ``person``'s final
    answers, or older than the policy's ``max_age_days``, are ignored); ``blocked``: why it may not be
    auto-approved whatever the evidence."""
    oldest = now - timedelta(days=policy.max_age_days)
    evidence = []
    for item in sorted(answers, key=lambda i: i.answered_at or i.created_at, reverse=True):
        ok = _answer(item, person)
        if ok is not None and (item.answered_at or item.created_at) >= oldest:
            evidence.append((item, key_of_item(item), ok))
    levels = [_level(evidence, key, i, policy, now) for i in range(len(policy.levels))]
    needed = 1 - policy.alpha
    passing = next((lv for lv in levels if lv.lower >= needed), None)
    shown = passing or max(levels, key=lambda lv: (lv.lower, lv.n, -lv.index))
    auto = passing is not None and blocked is None
    what = shown.features
    bound = (
        f"P(approve) ≥ {_down(shown.lower, 3):.3f} at {1 - policy.delta:.0%} confidence "
        f"({len(levels)} level(s), each at {1 - policy.level_delta:.2%}), needed ≥ {needed:g}"
    )
    evidence_text = f"{shown.approvals} of {shown.n} similar answers approved ({key.describe(what)})"
    if auto:
        reason = f"auto-approved on {person}'s learned preference: {evidence_text}; {bound}"
    elif blocked is not None:
        reason = f"not auto-approved on {person}'s preference: {blocked} ({evidence_text})"
    else:
        reason = f"not auto-approved on {person}'s preference: {evidence_text}; {bound}"
    return PreferencePrediction(
        person=person,
        key=key.describe(what),
        level=shown.index,
        n=shown.n,
        approvals=shown.approvals,
        probability=round(shown.probability, 4) if shown.probability is not None else None,
        interval=(_down(shown.lower, 4), -_down(-shown.upper, 4)),
        auto_approve=auto,
        reason=reason,
    )
