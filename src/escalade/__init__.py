"""escalade: decide who handles each piece of AI work (a cheap model, a stronger one, or a person).

The public API is re-exported here; see the README for the architecture.
"""

from escalade.analytics import CostAnalytics, generate_cost_analytics
from escalade.budget import ApprovalRequest, BudgetGuard
from escalade.calls import CallObserver, GuardedCaller
from escalade.cascade import ModelOrder, ProgressiveExecutor, RunListener, WorkItem
from escalade.config import EscalationConfig, load_config
from escalade.datasets import BenchmarkDataset, BenchmarkRow, load_dataset
from escalade.exceptions import (
    ApprovalDeniedError,
    BudgetError,
    BudgetExceededError,
    BudgetUnavailableError,
    CallLimitError,
    ConfigError,
    ContentPolicyError,
    ContextWindowError,
    DatasetError,
    EscalationError,
    ListenerError,
    MissingKeyError,
    MissingOutcomeError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    RequestBudgetExceededError,
    RequestStoppedError,
    RunNotFoundError,
    RunStoppedError,
    StoreError,
    TargetFileError,
    TransientProviderError,
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
    "BenchmarkDataset",
    "BenchmarkRow",
    "BudgetError",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetLedger",
    "BudgetUnavailableError",
    "CacheAwareRouter",
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
    "DatasetError",
    "EscalationConfig",
    "EscalationError",
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
    "OfflineOracleScorer",
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
    "ProviderError",
    "RateLimitedError",
    "ReplayProvider",
    "RequestBudgetExceededError",
    "RequestCost",
    "RequestStoppedError",
    "Router",
    "RoutingDecision",
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
