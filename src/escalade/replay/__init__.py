"""Replay: recorded real model outcomes, the replay provider, and the ladder run over them."""

from escalade.replay._datasets import (
    FORMAT,
    BenchmarkDataset,
    BenchmarkRow,
    RecordedOutcome,
    RecordedSample,
    load_dataset,
)
from escalade.replay._outcomes import Outcomes, Paid, RuntimeView
from escalade.replay._provider import ReplayProvider
from escalade.replay._run import (
    OFFLINE_WORKFLOW,
    OfflineOracleScorer,
    PremiumCost,
    ReplayPlan,
    accuracy_metrics,
    plan_live,
    plan_replay,
    premium_baseline,
    premium_cost,
    price_ladder,
    recorded_grade,
    reference_metrics,
    select_rows,
    work_items,
)

__all__ = [
    "FORMAT",
    "OFFLINE_WORKFLOW",
    "BenchmarkDataset",
    "BenchmarkRow",
    "OfflineOracleScorer",
    "Outcomes",
    "Paid",
    "PremiumCost",
    "RecordedOutcome",
    "RecordedSample",
    "ReplayPlan",
    "ReplayProvider",
    "RuntimeView",
    "accuracy_metrics",
    "load_dataset",
    "plan_live",
    "plan_replay",
    "premium_baseline",
    "premium_cost",
    "price_ladder",
    "recorded_grade",
    "reference_metrics",
    "select_rows",
    "work_items",
]
