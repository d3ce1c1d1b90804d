"""Up-front routing: which tier a task should start on, and why.

The learned router (:mod:`escalade.routing.learned._gain`) needs scikit-learn and is imported from its module,
so that importing the rest stays light.
"""

from escalade.routing._cache import (
    CacheAwareRouter,
    CacheLookup,
    CachePolicy,
    CachePolicyFor,
    CacheRanking,
    CacheStats,
    PrefixMemory,
    RequestCost,
    default_cache_policy,
)
from escalade.routing._classifier import Classification, CognitiveClassifier, LearnedClassifier, TierClassifier
from escalade.routing._context import Assessment, ContextAnalysis, ContextAnalyzer, Level
from escalade.routing._preferences import QualityPolicy, WorkspacePreferences
from escalade.routing._router import Router, RoutingDecision
from escalade.routing._trigger_outcomes import (
    NO_TRIGGER,
    KeyedTriggerHistory,
    KnownOutcome,
    TriggerFiring,
    tier_verdict,
    trigger_outcomes,
)
from escalade.routing._triggers import (
    DEFAULT_PATTERNS,
    SOURCE_WEIGHTS,
    Task,
    Trigger,
    TriggerCategory,
    TriggerDetector,
    TriggerPattern,
    load_trigger_patterns,
)
from escalade.routing._validation import (
    InMemoryTriggerHistory,
    TriggerHistory,
    TriggerOutcome,
    TriggerStats,
    TriggerValidation,
    TriggerValidator,
    default_escalation_cost,
    task_hash,
)

__all__ = [
    "DEFAULT_PATTERNS",
    "NO_TRIGGER",
    "SOURCE_WEIGHTS",
    "Assessment",
    "CacheAwareRouter",
    "CacheLookup",
    "CachePolicy",
    "CachePolicyFor",
    "CacheRanking",
    "CacheStats",
    "Classification",
    "CognitiveClassifier",
    "ContextAnalysis",
    "ContextAnalyzer",
    "InMemoryTriggerHistory",
    "KeyedTriggerHistory",
    "KnownOutcome",
    "LearnedClassifier",
    "Level",
    "PrefixMemory",
    "QualityPolicy",
    "RequestCost",
    "Router",
    "RoutingDecision",
    "Task",
    "TierClassifier",
    "Trigger",
    "TriggerCategory",
    "TriggerDetector",
    "TriggerFiring",
    "TriggerHistory",
    "TriggerOutcome",
    "TriggerPattern",
    "TriggerStats",
    "TriggerValidation",
    "TriggerValidator",
    "WorkspacePreferences",
    "default_cache_policy",
    "default_escalation_cost",
    "load_trigger_patterns",
    "task_hash",
    "tier_verdict",
    "trigger_outcomes",
]
