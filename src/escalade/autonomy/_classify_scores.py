"""Scoring a decision's facts for :mod:`escalade.autonomy._classify`: criticality, category, importance, priority.

Each step is a function of the :class:`~escalade.autonomy._classify_facts.Facts` (and the decision's
affected systems and files); every number it weighs with is a named constant below.

>>> criticality_of({"production": 0.9, "compliance": 0.85})
0.8875
>>> category_of(("long_term_impact", "breaking_change"), ("reversible",))
'strategic'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

from escalade.autonomy._classify_facts import Facts
from escalade.autonomy._decisions import Decision, DecisionType, Environment, Priority, Scope

Category = Literal["strategic", "tactical", "mixed"]

# -- criticality (seed 004) ------------------------------------------------------------------------
#: Seed 004's criticality factors: the weight of each in the weighted mean of those present.
CRITICALITY_WEIGHTS: Mapping[str, float] = {
    "production": 0.3,
    "security": 0.25,
    "financial": 0.2,
    "data_loss": 0.15,
    "compliance": 0.1,
}
#: Seed 004's score of each criticality factor when present (financial grows with the cost instead).
CRITICALITY_SCORES: Mapping[str, float] = {
    "production": 0.9,
    "security": 1.0,
    "data_loss": 0.95,
    "compliance": 0.85,
}
#: Estimated cost (USD) from which the financial factor is present.
FINANCIAL_FROM_USD = 100
#: Estimated cost (USD) at which the financial factor scores 1; it scores ``cost / this`` below.
FINANCIAL_FULL_USD = 10_000
#: Criticality of a decision with no criticality factor.
NO_CRITICALITY = 0.3

# -- category --------------------------------------------------------------------------------------
#: Seed 004's strategic indicators: how much each one that fired counts towards "strategic".
STRATEGIC_WEIGHTS: Mapping[str, float] = {
    "long_term_impact": 0.2,
    "cross_system": 0.15,
    "architecture_change": 0.2,
    "breaking_change": 0.15,
    "policy_change": 0.1,
    "resource_allocation": 0.1,
    "stakeholder_impact": 0.1,
}
#: Seed 004's tactical indicators: how much each one that fired counts towards "tactical".
TACTICAL_WEIGHTS: Mapping[str, float] = {
    "bug_fix": 0.2,
    "routine_maintenance": 0.15,
    "configuration": 0.15,
    "short_term": 0.15,
    "single_component": 0.1,
    "performance_tweak": 0.1,
    "reversible": 0.15,
}
#: How many times the other side's score one side needs to name the category (else it is mixed).
CATEGORY_MARGIN = 1.5

# -- importance: parts combined by noisy-OR, so that adding one never lowers it ----------------------
#: Share of each criticality factor's score that counts as a part of importance.
FACTOR_IMPORTANCE = 0.7
#: How much the reach of the change weighs.
SCOPE_IMPORTANCE: Mapping[Scope, float] = {Scope.SYSTEM_WIDE: 0.6, Scope.COMPONENT: 0.2, Scope.LOCAL: 0.0}
#: How much a breaking change (of an API, a schema, a contract) weighs.
BREAKING_IMPORTANCE = 0.6
#: How much an action that cannot be undone weighs.
IRREVERSIBLE_IMPORTANCE = 0.5
#: How much each affected system beyond the first weighs ...
EXTRA_SYSTEM_IMPORTANCE = 0.15
#: ... up to this much for all of them.
MAX_SYSTEMS_IMPORTANCE = 0.45
#: How much the records affected weigh at most: in proportion to their order of magnitude ...
RECORDS_IMPORTANCE = 0.5
#: ... up to this one (log10 of the records, 6: a million).
RECORDS_FULL_MAGNITUDE = 6
#: How much the estimated cost weighs at most: in proportion to the cost ...
COST_IMPORTANCE = 0.5
#: ... up to this many USD.
COST_FULL_USD = 1000
#: How much a slow-down weighs at most: in proportion to the percentage lost ...
SLOW_DOWN_IMPORTANCE = 0.5
#: ... up to this many percent slower.
SLOW_DOWN_FULL_PERCENT = 50
#: How much the category weighs: a strategic decision shapes what comes after it.
CATEGORY_IMPORTANCE: Mapping[Category, float] = {"strategic": 0.4, "mixed": 0.1, "tactical": 0.0}
#: How much the kind of action alone weighs.
TYPE_IMPORTANCE: Mapping[DecisionType, float] = {
    DecisionType.SECURITY: 0.3,
    DecisionType.DATA: 0.3,
    DecisionType.ARCHITECTURE: 0.3,
    DecisionType.DEPLOYMENT: 0.25,
    DecisionType.RESOURCE: 0.15,
    DecisionType.INTEGRATION: 0.15,
    DecisionType.CONFIGURATION: 0.1,
    DecisionType.FIX: 0.05,
    DecisionType.GENERAL: 0.05,
    DecisionType.MAINTENANCE: 0.0,
}
#: How much money flowing through what the action touches (payments, invoices, billing) weighs.
MONEY_IMPORTANCE = 0.25


def criticality_factors(facts: Facts) -> dict[str, float]:
    """Seed 004's criticality factors present, with their scores; a read-only action is in no environment."""
    factors: dict[str, float] = {}
    if not facts.read_only and facts.environment is Environment.PRODUCTION:
        factors["production"] = CRITICALITY_SCORES["production"]
    if facts.security_sensitive:
        factors["security"] = CRITICALITY_SCORES["security"]
    if facts.estimated_cost >= FINANCIAL_FROM_USD:
        factors["financial"] = round(min(facts.estimated_cost / FINANCIAL_FULL_USD, 1.0), 4)
    if facts.deletion:
        factors["data_loss"] = CRITICALITY_SCORES["data_loss"]
    if facts.affects_compliance:
        factors["compliance"] = CRITICALITY_SCORES["compliance"]
    return factors


def criticality_of(factors: Mapping[str, float]) -> float:
    """Seed 004's criticality: the weighted mean of the factors present, or the default when none is."""
    if not factors:
        return round(NO_CRITICALITY, 4)
    weight = sum(CRITICALITY_WEIGHTS[name] for name in factors)
    return round(sum(CRITICALITY_WEIGHTS[name] * score for name, score in factors.items()) / weight, 4)


def indicators(decision: Decision, facts: Facts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names of seed 004's strategic indicators that fired, then of its tactical ones."""
    said, scope, systems, files = facts.text_cues, facts.scope, decision.affected_systems, decision.affected_files
    strategic = {
        "long_term_impact": "long_term_impact" in said or not facts.reversible,
        "cross_system": len(systems) > 1 or scope is Scope.SYSTEM_WIDE,
        "architecture_change": facts.type is DecisionType.ARCHITECTURE or "core_functionality" in said,
        "breaking_change": facts.breaking_change,
        "policy_change": "policy_change" in said,
        "resource_allocation": facts.type is DecisionType.RESOURCE and scope is Scope.SYSTEM_WIDE,
        "stakeholder_impact": "stakeholder_approval" in said or facts.affects_compliance,
    }
    tactical = {
        "bug_fix": facts.type is DecisionType.FIX,
        "routine_maintenance": facts.type is DecisionType.MAINTENANCE or "routine_operation" in said,
        "configuration": facts.type is DecisionType.CONFIGURATION,
        "short_term": "short_term" in said,
        "single_component": scope is Scope.LOCAL or (len(systems) <= 1 and 0 < len(files) <= 3),
        "performance_tweak": "performance_tweak" in said and scope is not Scope.SYSTEM_WIDE,
        "reversible": facts.reversible,
    }
    return (
        tuple(name for name, fired in strategic.items() if fired),
        tuple(name for name, fired in tactical.items() if fired),
    )


def category_of(strategic: Iterable[str], tactical: Iterable[str]) -> Category:
    """Strategic or tactical when that side's weighted indicators outweigh the other's by the margin, else mixed."""
    s_score = sum(STRATEGIC_WEIGHTS[n] for n in strategic)
    t_score = sum(TACTICAL_WEIGHTS[n] for n in tactical)
    if s_score > CATEGORY_MARGIN * t_score:
        return "strategic"
    if t_score > CATEGORY_MARGIN * s_score:
        return "tactical"
    return "mixed"


def importance_of(decision: Decision, facts: Facts, factors: Mapping[str, float], category: Category) -> float:
    """Every part that makes a decision matter, combined by noisy-OR: adding a part never lowers it."""
    records, cost, slower = facts.record_count, facts.estimated_cost, facts.performance_impact
    parts = [
        *(FACTOR_IMPORTANCE * score for score in factors.values()),
        SCOPE_IMPORTANCE[facts.scope],
        BREAKING_IMPORTANCE if facts.breaking_change else 0.0,
        0.0 if facts.reversible else IRREVERSIBLE_IMPORTANCE,
        min(EXTRA_SYSTEM_IMPORTANCE * (len(decision.affected_systems) - 1), MAX_SYSTEMS_IMPORTANCE),
        min(math.log10(records + 1) / RECORDS_FULL_MAGNITUDE, 1.0) * RECORDS_IMPORTANCE,
        min(cost / COST_FULL_USD, 1.0) * COST_IMPORTANCE,
        min(-slower / SLOW_DOWN_FULL_PERCENT, 1.0) * SLOW_DOWN_IMPORTANCE if slower < 0 else 0.0,
        CATEGORY_IMPORTANCE[category],
        TYPE_IMPORTANCE[facts.type],
        MONEY_IMPORTANCE if facts.money else 0.0,
    ]
    return round(_noisy_or(parts), 4)


def priority_of(criticality: float, importance: float) -> Priority:
    """Critical (criticality over 0.9 or importance from 0.85), high, medium or low."""
    if criticality > 0.9 or importance >= 0.85:
        return Priority.CRITICAL
    if criticality >= 0.75 or importance >= 0.6:
        return Priority.HIGH
    if criticality >= 0.5 or importance >= 0.3:
        return Priority.MEDIUM
    return Priority.LOW


def batch_blockers(facts: Facts, priority: Priority) -> tuple[str, ...]:
    """Why the decision cannot wait for a batch of questions (empty when it can)."""
    blocked = (("urgent", facts.urgent), ("critical priority", priority is Priority.CRITICAL))
    return tuple(reason for reason, on in blocked if on)


def _noisy_or(parts: Iterable[float]) -> float:
    doubt = 1.0
    for p in parts:
        doubt *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - doubt
