"""Escalation predicates: user functions deciding "escalate, reason" after each attempt.

A predicate receives a :class:`PredicateContext` and returns ``(escalate, reason)``. Predicates
combine with :func:`any_of` and :func:`all_of`. The cascade always applies the tier threshold
(:func:`below_threshold`); custom predicates can only add reasons to climb.

>>> from escalade.quality._analysis import FailureAnalysis
>>> ctx = PredicateContext(tier="cheap", threshold=75.0, attempt=1,
...                        analysis=FailureAnalysis(test_pass_rate=1.0, coverage=1.0, syntax_errors=("x",)))
>>> any_of(below_threshold, has_syntax_errors)(ctx)
(True, 'low CQS (32.5 < 75)')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from escalade.quality._analysis import FailureAnalysis

__all__ = [
    "EscalationPredicate",
    "PredicateContext",
    "all_of",
    "any_of",
    "below_threshold",
    "has_syntax_errors",
    "signal_below",
]


@dataclass(frozen=True, kw_only=True)
class PredicateContext:
    """What a predicate decides from."""

    #: Tier of the attempt.
    tier: str
    #: The tier's CQS threshold.
    threshold: float
    #: 1-based attempt number on the tier.
    attempt: int
    #: The attempt's quality analysis.
    analysis: FailureAnalysis

    @property
    def cqs(self) -> float:
        """The attempt's Composite Quality Score."""
        return self.analysis.cqs

    @property
    def failure_analysis(self) -> FailureAnalysis:
        """:attr:`analysis`, by seed 000's name (its ``_should_escalate_custom`` reads ``failure_analysis``)."""
        return self.analysis


#: ``(escalate, reason)`` from a context.
EscalationPredicate: TypeAlias = Callable[[PredicateContext], "tuple[bool, str | None]"]


def below_threshold(ctx: PredicateContext) -> tuple[bool, str | None]:
    """Escalate when the CQS is below the tier's threshold."""
    if ctx.cqs < ctx.threshold:
        return True, f"low CQS ({ctx.cqs:.1f} < {ctx.threshold:g})"
    return False, None


def has_syntax_errors(ctx: PredicateContext) -> tuple[bool, str | None]:
    """Escalate on any syntax error."""
    if ctx.analysis.syntax_errors:
        return True, f"syntax errors: {'; '.join(ctx.analysis.syntax_errors)}"
    return False, None


def signal_below(name: str, minimum: float) -> EscalationPredicate:
    """Escalate when the measured signal ``name`` is below ``minimum`` (unmeasured: no opinion)."""

    def predicate(ctx: PredicateContext) -> tuple[bool, str | None]:
        value = ctx.analysis.measured().get(name)
        if value is not None and value < minimum:
            return True, f"{name} {value:.2f} < {minimum:g}"
        return False, None

    predicate.__name__ = f"signal_below({name!r}, {minimum!r})"
    return predicate


def any_of(*predicates: EscalationPredicate) -> EscalationPredicate:
    """Escalate when any predicate does; the first reason is given."""

    def predicate(ctx: PredicateContext) -> tuple[bool, str | None]:
        for p in predicates:
            escalate, reason = p(ctx)
            if escalate:
                return True, reason
        return False, None

    return predicate


def all_of(*predicates: EscalationPredicate) -> EscalationPredicate:
    """Escalate only when every predicate does; reasons are joined."""

    def predicate(ctx: PredicateContext) -> tuple[bool, str | None]:
        reasons: list[str] = []
        for p in predicates:
            escalate, reason = p(ctx)
            if not escalate:
                return False, None
            if reason:
                reasons.append(reason)
        return True, "; ".join(reasons) if reasons else None

    return predicate
