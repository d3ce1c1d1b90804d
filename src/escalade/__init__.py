"""escalade: decide who handles each piece of AI work (a cheap model, a stronger one, or a person).

The public API is re-exported here; see the README for the architecture.
"""

import typing

from escalade.analytics import CostAnalytics, generate_cost_analytics
from escalade.autonomy import (
    AutomationProfile,
    AutonomyController,
    Decision,
    DecisionContext,
    EscalationDecision,
    EscalationEngine,
    EscalationResult,
    Outcome,
    RuleSet,
)
from escalade.budget import ApprovalRequest, BudgetGuard
from escalade.calls import CallObserver, GuardedCaller
from escalade.cascade import ModelOrder, ProgressiveExecutor, RunListener, WorkItem
from escalade.config import EscalationConfig, load_config
from escalade.datasets import BenchmarkDataset, BenchmarkRow, load_dataset
from escalade.exceptions import (
    ApprovalDeniedError,
    AuditKeyError,
    BudgetError,
    BudgetExceededError,
    BudgetUnavailableError,
    CalibrationNotFoundError,
    CallLimitError,
    ConfigError,
    ContentPolicyError,
    ContextWindowError,
    DatabaseError,
    DatasetError,
    DecisionError,
    EscaladeError,
    ListenerError,
    MissingKeyError,
    MissingOutcomeError,
    NotEnoughLabelsError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
    RequestBudgetExceededError,
    RequestStoppedError,
    RuleError,
    RunNotFoundError,
    RunStoppedError,
    StoreError,
    TargetFileError,
    TransientProviderError,
    _deprecated_alias,
)
from escalade.ledger import BudgetLedger, Hold, LineState, MemoryLedger, Settlement, WorkspaceBudget
from escalade.providers import (
    Completion,
    CompletionRequest,
    CostEstimate,
    CostEstimator,
    FunctionProvider,
    ModelPrice,
    PriceTableEstimator,
    Provider,
    ScriptedProvider,
    Usage,
)
from escalade.providers.replay import ReplayProvider
from escalade.quality import (
    ConsensusScorer,
    FailureAnalysis,
    PredicateContext,
    Scorer,
    ScoringContext,
    all_of,
    any_of,
)
from escalade.replay import OfflineOracleScorer
from escalade.results import AttemptRecord, ItemResult, ProgressiveWorkflowResult, TierResult
from escalade.routing import (
    CacheAwareRouter,
    PrefixMemory,
    RequestCost,
    Router,
    RoutingDecision,
    Task,
    TriggerDetector,
    WorkspacePreferences,
)
from escalade.store import SqlLedger, SqlStore
from escalade.teams import ArchitectExecutorReviewer, PlannerExecutor, SingleAgent, TeamStrategy
from escalade.telemetry import ProgressiveTelemetry
from escalade.testgen import ProgressiveTestGenWorkflow, Sandbox, SandboxLimits, TestGenResult
from escalade.tiers import Ladder, Tier
from escalade.workflow import ProgressiveWorkflow

__version__ = "0.1.0"

__all__ = [
    "ApprovalDeniedError",
    "ApprovalRequest",
    "ArchitectExecutorReviewer",
    "AttemptRecord",
    "AuditKeyError",
    "AutomationProfile",
    "AutonomyController",
    "BenchmarkDataset",
    "BenchmarkRow",
    "BudgetError",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetLedger",
    "BudgetUnavailableError",
    "CacheAwareRouter",
    "CalibrationNotFoundError",
    "CallLimitError",
    "CallObserver",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "ConsensusScorer",
    "ContentPolicyError",
    "ContextWindowError",
    "CostAnalytics",
    "CostEstimate",
    "CostEstimator",
    "DatabaseError",
    "DatasetError",
    "Decision",
    "DecisionContext",
    "DecisionError",
    "EscaladeError",
    "EscalationConfig",
    "EscalationDecision",
    "EscalationEngine",
    "EscalationResult",
    "FailureAnalysis",
    "FunctionProvider",
    "GuardedCaller",
    "Hold",
    "ItemResult",
    "Ladder",
    "LineState",
    "ListenerError",
    "MemoryLedger",
    "MissingKeyError",
    "MissingOutcomeError",
    "ModelOrder",
    "ModelPrice",
    "NotEnoughLabelsError",
    "OfflineOracleScorer",
    "Outcome",
    "PlannerExecutor",
    "PredicateContext",
    "PrefixMemory",
    "PriceTableEstimator",
    "ProgressiveExecutor",
    "ProgressiveTelemetry",
    "ProgressiveTestGenWorkflow",
    "ProgressiveWorkflow",
    "ProgressiveWorkflowResult",
    "Provider",
    "ProviderAuthError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderServerError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "ReplayProvider",
    "RequestBudgetExceededError",
    "RequestCost",
    "RequestStoppedError",
    "Router",
    "RoutingDecision",
    "RuleError",
    "RuleSet",
    "RunListener",
    "RunNotFoundError",
    "RunStoppedError",
    "Sandbox",
    "SandboxLimits",
    "Scorer",
    "ScoringContext",
    "ScriptedProvider",
    "Settlement",
    "SingleAgent",
    "SqlLedger",
    "SqlStore",
    "StoreError",
    "TargetFileError",
    "Task",
    "TeamStrategy",
    "TestGenResult",
    "Tier",
    "TierResult",
    "TransientProviderError",
    "TriggerDetector",
    "Usage",
    "WorkItem",
    "WorkspaceBudget",
    "WorkspacePreferences",
    "__version__",
    "all_of",
    "any_of",
    "generate_cost_analytics",
    "load_config",
    "load_dataset",
]


if typing.TYPE_CHECKING:
    from escalade.exceptions import EscalationError as EscalationError
else:

    def __getattr__(name: str) -> type[EscaladeError]:
        """``EscalationError``, the root error's former name: :class:`EscaladeError` itself, with a warning."""
        return _deprecated_alias(__name__, name)
