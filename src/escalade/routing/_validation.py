"""Trigger validation: does a detected trigger actually escalate? And how right were triggers before?

:class:`TriggerValidator` applies business rules, then a cost–benefit check, to each trigger that
reached the router's confidence bar:

1. **Security requirement.** Security triggers escalate: an exploitable mistake costs more than any
   call.
2. **Business-impact threshold.** A business-impact trigger escalates only with confidence of at
   least ``business_min_confidence``, or when the task's files themselves show it (evidence found
   in their paths or contents, not only in the description).
3. **Technical complexity.** A complexity trigger escalates unless context analysis of the task's
   files rates complexity *low*. Without files to read it is taken at its word.
4. **Cost–benefit.** Escalating costs ``escalation_cost_usd(task)``, the extra cost of the strong
   tier. Not escalating risks ``P(needed) × failure_cost_usd[category]``. ``P(needed)`` is the share
   of this trigger's past firings that did need a strong tier, from :class:`TriggerHistory`, with the
   trigger's confidence as a prior worth ``prior_strength`` observations. Security triggers skip
   this step (rule 1). Every other trigger must pass it.

:class:`TriggerHistory` records outcomes: for each firing, whether the task escalated and whether it
needed a strong tier (the cheap answer failed, or a reviewer said so). :meth:`TriggerHistory.stats`
reports false positives and false negatives per trigger. ``SqlStore`` keeps the same records in the
database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from escalade.exceptions import ConfigError
from escalade.routing._context import ContextAnalysis, Level
from escalade.routing._triggers import Task, Trigger, TriggerCategory

__all__ = [
    "InMemoryTriggerHistory",
    "TriggerHistory",
    "TriggerOutcome",
    "TriggerStats",
    "TriggerValidation",
    "TriggerValidator",
    "default_escalation_cost",
    "task_hash",
]

#: What a wrong cheap answer costs when a trigger was right, by category (USD; set your own).
DEFAULT_FAILURE_COST_USD: Mapping[TriggerCategory, float] = {
    TriggerCategory.SECURITY: 500.0,
    TriggerCategory.COMPLEXITY: 20.0,
    TriggerCategory.BUSINESS_IMPACT: 100.0,
}


def task_hash(task: Task) -> str:
    """SHA-256 of the task's description: history keeps no task text."""
    return hashlib.sha256(task.description.encode("utf-8")).hexdigest()


def default_escalation_cost(task: Task) -> float:
    """Extra cost of a strong tier, assumed at $30 per million tokens more than the cheap one.

    Tokens are estimated as the task's characters / 4 plus 1,000 output tokens.
    """
    characters = len(task.description) + sum(len(text) for text in task.file_contents.values())
    return (characters / 4 + 1000) * 30e-6


@dataclass(frozen=True)
class TriggerOutcome:
    """One firing of a trigger and how it turned out."""

    trigger: str
    category: TriggerCategory
    confidence: float
    escalated: bool
    #: Whether a strong tier was needed (the cheap tier failed, or a reviewer said so).
    needed: bool
    task_hash: str
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The workspace whose request it came from (``None``: none was named).
    workspace: str | None = None


@dataclass(frozen=True)
class TriggerStats:
    """How one trigger's escalation decisions turned out."""

    trigger: str
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def firings(self) -> int:
        return self.true_positives + self.false_positives + self.false_negatives + self.true_negatives

    @property
    def needed(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float | None:
        """Share of escalations that were needed."""
        escalated = self.true_positives + self.false_positives
        return self.true_positives / escalated if escalated else None

    @property
    def false_negative_rate(self) -> float | None:
        """Share of needed escalations that were not made."""
        return self.false_negatives / self.needed if self.needed else None


def stats_from_counts(trigger: str, counts: Mapping[tuple[bool, bool], int]) -> TriggerStats:
    """Stats from counts keyed by ``(escalated, needed)``."""
    return TriggerStats(
        trigger=trigger,
        true_positives=counts.get((True, True), 0),
        false_positives=counts.get((True, False), 0),
        false_negatives=counts.get((False, True), 0),
        true_negatives=counts.get((False, False), 0),
    )


class TriggerHistory(Protocol):
    """Where trigger outcomes are kept."""

    def record_trigger_outcome(self, outcome: TriggerOutcome) -> None:
        """Keep one outcome."""
        ...

    def trigger_stats(self) -> dict[str, TriggerStats]:
        """Counts per trigger name."""
        ...


class InMemoryTriggerHistory:
    """A :class:`TriggerHistory` in a list (tests, short-lived processes)."""

    def __init__(self) -> None:
        self.outcomes: list[TriggerOutcome] = []

    def record_trigger_outcome(self, outcome: TriggerOutcome) -> None:
        self.outcomes.append(outcome)

    def record_trigger_outcome_once(self, outcome: TriggerOutcome) -> bool:
        """Keep ``outcome`` unless this trigger already has one for the same task in the same workspace;
        whether it was kept."""
        same = (outcome.trigger, outcome.task_hash, outcome.workspace)
        if any((o.trigger, o.task_hash, o.workspace) == same for o in self.outcomes):
            return False
        self.outcomes.append(outcome)
        return True

    def trigger_stats(self) -> dict[str, TriggerStats]:
        counts: dict[str, dict[tuple[bool, bool], int]] = {}
        for o in self.outcomes:
            per = counts.setdefault(o.trigger, {})
            per[(o.escalated, o.needed)] = per.get((o.escalated, o.needed), 0) + 1
        return {name: stats_from_counts(name, per) for name, per in sorted(counts.items())}


@dataclass(frozen=True)
class TriggerValidation:
    """The verdict on one trigger."""

    trigger: Trigger
    escalate: bool
    reasons: tuple[str, ...]
    #: ``P(needed) × failure cost``, when the cost–benefit check ran.
    expected_failure_cost: float | None = None
    escalation_cost: float | None = None


@dataclass
class TriggerValidator:
    """Business rules and a cost–benefit check over detected triggers; see the module docstring."""

    history: TriggerHistory | None = None
    failure_cost_usd: Mapping[TriggerCategory, float] = field(default_factory=lambda: dict(DEFAULT_FAILURE_COST_USD))
    escalation_cost_usd: Callable[[Task], float] = default_escalation_cost
    business_min_confidence: float = 0.8
    prior_strength: float = 4.0
    _stats: dict[str, TriggerStats] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for category, cost in self.failure_cost_usd.items():
            if cost < 0:
                raise ConfigError(f"failure cost of {category} must not be negative", field="failure_cost_usd")
        if self.prior_strength <= 0:
            raise ConfigError("prior_strength must be positive", field="prior_strength")

    def refresh(self) -> None:
        """Re-read the history's counts (they are cached after the first validation)."""
        self._stats = self.history.trigger_stats() if self.history is not None else {}

    def needed_probability(self, trigger: Trigger) -> float:
        """Posterior mean of "a strong tier was needed" for this trigger (Beta prior from its confidence)."""
        if self._stats is None:
            self.refresh()
        stats = (self._stats or {}).get(trigger.name)
        needed, firings = (stats.needed, stats.firings) if stats is not None else (0, 0)
        prior = self.prior_strength
        return (trigger.confidence * prior + needed) / (prior + firings)

    def validate(self, trigger: Trigger, task: Task, analysis: ContextAnalysis | None = None) -> TriggerValidation:
        """Whether ``trigger`` escalates ``task``."""
        files = analysis if analysis is not None and analysis.files else None  # an analysis of real files
        if trigger.category is TriggerCategory.SECURITY:
            return TriggerValidation(trigger, True, (f"{trigger.name}: security triggers always escalate",))
        if trigger.category is TriggerCategory.BUSINESS_IMPACT and trigger.confidence < self.business_min_confidence:
            in_files = any(e.startswith(("path:", "contents:")) for e in trigger.evidence)
            if not in_files:
                why = f"{trigger.name}: confidence {trigger.confidence:.2f} below {self.business_min_confidence:.2f}"
                return TriggerValidation(trigger, False, (f"{why} and the files do not show it",))
        if trigger.category is TriggerCategory.COMPLEXITY and files is not None and files.complexity.level is Level.LOW:
            basis = files.complexity.basis
            why = f"max cyclomatic complexity {basis['max_cyclomatic_complexity']:g}, {basis['sloc']:g} lines"
            return TriggerValidation(trigger, False, (f"{trigger.name}: the files are simple ({why})",))
        probability = self.needed_probability(trigger)
        failure = probability * self.failure_cost_usd.get(trigger.category, 0.0)
        escalation = self.escalation_cost_usd(task)
        verdict = failure >= escalation
        reason = (
            f"{trigger.name}: expected failure cost ${failure:.4f} (P(needed) {probability:.2f}) "
            f"{'>=' if verdict else '<'} escalation cost ${escalation:.4f}"
        )
        return TriggerValidation(trigger, verdict, (reason,), failure, escalation)
