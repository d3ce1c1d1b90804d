"""The cascade: work items climb the ladder; the executor, its calls, teams, workflows and results."""

from escalade.cascade._calls import CallObserver, ContextWindows, GuardedCaller, RequestCalls, fit_tokens
from escalade.cascade._events import RunListener
from escalade.cascade._executor import ModelOrder, ProgressiveExecutor, new_run_id
from escalade.cascade._items import (
    ItemState,
    WorkItem,
    cut_short,
    finish_item,
    last_answered,
    price_versions,
    request_stopped,
    total_cost,
    total_usage,
)
from escalade.cascade._report import RunFigures, cause_counts, percent, render_report, run_summary_dict
from escalade.cascade._results import (
    ANSWERED_STATUSES,
    AttemptRecord,
    ItemResult,
    ProgressiveWorkflowResult,
    TierResult,
    TierSummary,
    count_causes,
    error_cause,
    run_status,
    savings_percent,
)
from escalade.cascade._teams import (
    ArchitectExecutorReviewer,
    PlannerExecutor,
    SingleAgent,
    TeamContext,
    TeamOutcome,
    TeamStrategy,
    default_team,
)
from escalade.cascade._workflow import TESTGEN_WORKFLOW, ProgressiveWorkflow

__all__ = [
    "ANSWERED_STATUSES",
    "TESTGEN_WORKFLOW",
    "ArchitectExecutorReviewer",
    "AttemptRecord",
    "CallObserver",
    "ContextWindows",
    "GuardedCaller",
    "ItemResult",
    "ItemState",
    "ModelOrder",
    "PlannerExecutor",
    "ProgressiveExecutor",
    "ProgressiveWorkflow",
    "ProgressiveWorkflowResult",
    "RequestCalls",
    "RunFigures",
    "RunListener",
    "SingleAgent",
    "TeamContext",
    "TeamOutcome",
    "TeamStrategy",
    "TierResult",
    "TierSummary",
    "WorkItem",
    "cause_counts",
    "count_causes",
    "cut_short",
    "default_team",
    "error_cause",
    "finish_item",
    "fit_tokens",
    "last_answered",
    "new_run_id",
    "percent",
    "price_versions",
    "render_report",
    "request_stopped",
    "run_status",
    "run_summary_dict",
    "savings_percent",
    "total_cost",
    "total_usage",
]
