"""Human escalation: whether an agent's action proceeds on its own or waits for a person.

- :mod:`~escalade.autonomy.decisions`: the decision an agent proposes, validated strictly;
- :mod:`~escalade.autonomy.classify`: type, criticality, importance, category, priority;
- :mod:`~escalade.autonomy.rules`: declarative escalation rules (never ``eval``);
- :mod:`~escalade.autonomy.profiles`: eight automation profiles, and custom ones;
- :mod:`~escalade.autonomy.controller`: confidence from trusted factors (seed 003);
- :mod:`~escalade.autonomy.thresholds`: certified floors, the target-rate controller, learning;
- :mod:`~escalade.autonomy.engine`: all of it combined, stored and audited;
- :mod:`~escalade.autonomy.audit`: the hash-chained audit trail;
- :mod:`~escalade.autonomy.trail`: the tables checked against the audit trail;
- :mod:`~escalade.autonomy.memory`: the store in one process's memory;
- :mod:`~escalade.autonomy.metrics`: escalation, override and error rates, and the trend.
"""

from escalade.autonomy.audit import ChainReport, verify_chain
from escalade.autonomy.classify import Classification, DecisionClassifier
from escalade.autonomy.controller import AutonomyController, ConfidenceFactor, ConfidenceWeights, EscalationDecision
from escalade.autonomy.decisions import (
    CallerFactors,
    Decision,
    DecisionContext,
    DecisionType,
    Environment,
    Priority,
    Scope,
    parse_decision,
)
from escalade.autonomy.engine import EscalationEngine, EscalationResult, OutcomeResult
from escalade.autonomy.history import (
    AutonomyStore,
    CalibrationRecord,
    DecisionRecord,
    Outcome,
    parse_outcome,
)
from escalade.autonomy.memory import MemoryAutonomyStore
from escalade.autonomy.metrics import EscalationMetrics, escalation_metrics
from escalade.autonomy.profiles import DEFAULT_PROFILE, PROFILES, AutomationProfile, load_profiles
from escalade.autonomy.rules import BUILTIN_RULES, Rule, RuleHit, RuleSet, load_rules
from escalade.autonomy.thresholds import Labelled, Learning, RateControl, Threshold, certify_floors
from escalade.autonomy.trail import verify_trail

__all__ = [
    "BUILTIN_RULES",
    "DEFAULT_PROFILE",
    "PROFILES",
    "AutomationProfile",
    "AutonomyController",
    "AutonomyStore",
    "CalibrationRecord",
    "CallerFactors",
    "ChainReport",
    "Classification",
    "ConfidenceFactor",
    "ConfidenceWeights",
    "Decision",
    "DecisionClassifier",
    "DecisionContext",
    "DecisionRecord",
    "DecisionType",
    "Environment",
    "EscalationDecision",
    "EscalationEngine",
    "EscalationMetrics",
    "EscalationResult",
    "Labelled",
    "Learning",
    "MemoryAutonomyStore",
    "Outcome",
    "OutcomeResult",
    "Priority",
    "RateControl",
    "Rule",
    "RuleHit",
    "RuleSet",
    "Scope",
    "Threshold",
    "certify_floors",
    "escalation_metrics",
    "load_profiles",
    "load_rules",
    "parse_decision",
    "parse_outcome",
    "verify_chain",
    "verify_trail",
]
