"""Up-front routing: which tier a task should start on, and why.

The learned router (:mod:`escalade.routing.gain`) needs scikit-learn and is imported from its module,
so that importing the rest stays light.
"""

from escalade.routing.cache import CacheAwareRouter, CachePolicy, PrefixMemory, RequestCost, default_cache_policy
from escalade.routing.classifier import Classification, CognitiveClassifier, LearnedClassifier, TierClassifier
from escalade.routing.preferences import WorkspacePreferences
from escalade.routing.router import Router, RoutingDecision
from escalade.routing.triggers import (
    Task,
    Trigger,
    TriggerCategory,
    TriggerDetector,
    TriggerPattern,
    load_trigger_patterns,
)

__all__ = [
    "CacheAwareRouter",
    "CachePolicy",
    "Classification",
    "CognitiveClassifier",
    "LearnedClassifier",
    "PrefixMemory",
    "RequestCost",
    "Router",
    "RoutingDecision",
    "Task",
    "TierClassifier",
    "Trigger",
    "TriggerCategory",
    "TriggerDetector",
    "TriggerPattern",
    "WorkspacePreferences",
    "default_cache_policy",
    "load_trigger_patterns",
]
