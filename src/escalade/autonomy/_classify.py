"""Decision classification: what a decision is, how critical and important, and who should see it when.

:class:`DecisionClassifier` reads the stated fields and the description (see
:mod:`escalade.autonomy._lexicon`) and returns a :class:`Classification`. A field the caller did not
state is inferred from the description and marked ``inferred`` in ``sources``, with the words that
showed it in ``evidence``; a stated field is never overridden.

- **type**: cue scores per type; a cue at the start of the sentence (the verb of an imperative) or
  right after "to" counts 1.5×; file paths add hints. Ties go to the riskier type.
- **criticality** (seed 004): the weighted mean of the factors present: production (0.9, weight
  0.3), security (1.0, 0.25), financial (cost / $10,000, 0.2; from $100), data loss (0.95, 0.15),
  compliance (0.85, 0.1); 0.3 when none is present.
- **importance**: the criticality factors, scope, breaking change, irreversibility, systems and records
  affected, money and slow-down, combined (noisy-OR) so that adding a factor never lowers it. The
  seed's weighted mean can drop when a milder factor joins a severe one (production 0.9 with
  compliance 0.85 gives 0.89); importance, risk and the rules never do.
- **category**: strategic, tactical or mixed from the seed's weighted indicators (the ones that
  fired are listed); strategic when its score is over 1.5× the tactical one, and the reverse.
- **priority**: critical (criticality over 0.9 or importance from 0.85), high, medium or low.
- **batchable**: can wait for a batch of questions unless urgent or critical.

:meth:`DecisionClassifier.classify` runs these as named steps: reading the facts (with the type's
weights) in :mod:`escalade.autonomy._classify_facts`, scoring them (with the criticality, category and
importance weights, each a named constant) in :mod:`escalade.autonomy._classify_scores`.

>>> c = DecisionClassifier().classify(Decision(description="Purge 25,000 user records older than a year"))
>>> c.type, c.deletion, c.record_count, c.sources["deletion"]
(<DecisionType.DATA: 'data'>, True, 25000, 'inferred')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from escalade.autonomy._classify_facts import Source, read_facts
from escalade.autonomy._classify_scores import (
    CRITICALITY_WEIGHTS,
    Category,
    batch_blockers,
    category_of,
    criticality_factors,
    criticality_of,
    importance_of,
    indicators,
    priority_of,
)
from escalade.autonomy._decisions import Decision, DecisionType, Environment, Priority, Scope

__all__ = ["CRITICALITY_WEIGHTS", "Category", "Classification", "DecisionClassifier", "impact_level"]


def impact_level(importance: float) -> Priority:
    """The impact of a decision as a level: critical from 0.85, high from 0.6, medium from 0.3."""
    if importance >= 0.85:
        return Priority.CRITICAL
    if importance >= 0.6:
        return Priority.HIGH
    if importance >= 0.3:
        return Priority.MEDIUM
    return Priority.LOW


@dataclass(frozen=True, kw_only=True)
class Classification:
    """What the classifier found; ``sources`` says for each resolved field whether it was stated or inferred."""

    type: DecisionType
    #: Cue score of every type that scored.
    type_scores: Mapping[str, float]
    environment: Environment | None
    scope: Scope
    deletion: bool
    record_count: int
    estimated_cost: float
    breaking_change: bool
    affects_compliance: bool
    performance_impact: float
    reversible: bool
    #: A strong security cue (credentials, crypto, permissions, vulnerabilities) is present.
    security_sensitive: bool
    #: The action only looks (a scan, a review, a dry run): it changes nothing.
    read_only: bool
    #: Money flows through what it touches (payments, invoices, billing).
    money: bool
    urgent: bool
    criticality: float
    #: The criticality factors present, with their scores.
    criticality_factors: Mapping[str, float]
    importance: float
    impact: Priority
    category: Category
    strategic_indicators: tuple[str, ...]
    tactical_indicators: tuple[str, ...]
    batchable: bool
    #: Why it cannot wait for a batch (empty when batchable).
    batch_blockers: tuple[str, ...]
    priority: Priority
    sources: Mapping[str, Source] = field(default_factory=dict)
    #: The words that showed each inferred field.
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The type the description reads as, whatever type was stated (rules check both).
    described_type: DecisionType | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "type": self.type.value,
            "described_type": (self.described_type or self.type).value,
            "type_scores": dict(self.type_scores),
            "environment": self.environment.value if self.environment else None,
            "scope": self.scope.value,
            "deletion": self.deletion,
            "record_count": self.record_count,
            "estimated_cost": self.estimated_cost,
            "breaking_change": self.breaking_change,
            "affects_compliance": self.affects_compliance,
            "performance_impact": self.performance_impact,
            "reversible": self.reversible,
            "security_sensitive": self.security_sensitive,
            "read_only": self.read_only,
            "money": self.money,
            "urgent": self.urgent,
            "criticality": self.criticality,
            "criticality_factors": dict(self.criticality_factors),
            "importance": self.importance,
            "impact": self.impact.value,
            "category": self.category,
            "strategic_indicators": list(self.strategic_indicators),
            "tactical_indicators": list(self.tactical_indicators),
            "batchable": self.batchable,
            "batch_blockers": list(self.batch_blockers),
            "priority": self.priority.value,
            "sources": dict(self.sources),
            "evidence": {k: list(v) for k, v in self.evidence.items()},
        }


class DecisionClassifier:
    """Classifies decisions (see the module docstring); stateless and safe to share."""

    def classify(self, decision: Decision) -> Classification:
        """Read the facts, then score them: criticality, category, importance, priority, batchability."""
        facts = read_facts(decision)
        factors = criticality_factors(facts)
        criticality = criticality_of(factors)
        strategic, tactical = indicators(decision, facts)
        category = category_of(strategic, tactical)
        importance = importance_of(decision, facts, factors, category)
        priority = priority_of(criticality, importance)
        blockers = batch_blockers(facts, priority)
        return Classification(
            type=facts.type,
            type_scores={t.value: round(s, 3) for t, s in facts.type_scores.items() if s > 0},
            environment=facts.environment,
            scope=facts.scope,
            deletion=facts.deletion,
            record_count=facts.record_count,
            estimated_cost=facts.estimated_cost,
            breaking_change=facts.breaking_change,
            affects_compliance=facts.affects_compliance,
            performance_impact=facts.performance_impact,
            reversible=facts.reversible,
            security_sensitive=facts.security_sensitive,
            urgent=facts.urgent,
            read_only=facts.read_only,
            money=facts.money,
            criticality=criticality,
            criticality_factors=factors,
            importance=importance,
            impact=impact_level(importance),
            category=category,
            strategic_indicators=strategic,
            tactical_indicators=tactical,
            batchable=not blockers,
            batch_blockers=blockers,
            priority=priority,
            sources=facts.sources,
            evidence=facts.evidence,
            described_type=facts.described_type,
        )
