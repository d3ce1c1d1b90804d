"""Reporting: analytics over stored runs, and local usage telemetry."""

from escalade.reporting._analytics import (
    KINDS,
    CostAnalytics,
    RunGroupStats,
    WorkflowStats,
    generate_cost_analytics,
    run_kind,
)
from escalade.reporting._telemetry import ProgressiveTelemetry, hash_user_id

__all__ = [
    "KINDS",
    "CostAnalytics",
    "ProgressiveTelemetry",
    "RunGroupStats",
    "WorkflowStats",
    "generate_cost_analytics",
    "hash_user_id",
    "run_kind",
]
