"""The service's Prometheus metrics (prometheus-client), in a registry of each app's own.

Counted in the process: requests and their latency per route (the route's template, never its
path), tier decisions, escalations by reason, upstream errors by cause. Read from the database at
each scrape, so that every replica reports the same figures: spend and budget left per workspace
(the workspace's month line of the ledger). No label ever holds a prompt, a key or a path that a
client chose.

With ``--workers N`` each uvicorn process keeps its own counters; set ``PROMETHEUS_MULTIPROC_DIR`` to
a fresh folder before starting and every process's counters are summed at scrape
(prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "ServiceMetrics", "WorkspaceSpend"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_REASON_WORD = re.compile(r"[a-z_]+")

#: ``(workspace, spent_usd, cap_usd or None)`` for every workspace's current month.
WorkspaceSpend = Callable[[], Iterable[tuple[str, float, float | None]]]


def reason_label(reason: str) -> str:
    """A bounded label for an escalation reason: its first word (``low_quality``, ``error``...), never its text."""
    found = _REASON_WORD.match(reason.strip().lower().replace(" ", "_"))
    return found.group(0)[:40] if found else "other"


class _SpendCollector(Collector):
    def __init__(self, spend: WorkspaceSpend) -> None:
        self.spend = spend

    def collect(self) -> Iterable[Metric]:
        spent = GaugeMetricFamily(
            "escalade_workspace_spend_usd", "USD spent this month per workspace", labels=["workspace"]
        )
        left = GaugeMetricFamily(
            "escalade_workspace_budget_left_usd", "USD left of the monthly cap per workspace", labels=["workspace"]
        )
        try:
            rows = list(self.spend())
        except Exception:  # a scrape must not fail because the database is down; health says so
            rows = []
        for workspace, used, cap in rows:
            spent.add_metric([workspace], used)
            if cap is not None:
                left.add_metric([workspace], max(0.0, cap - used))
        yield spent
        yield left


class ServiceMetrics:
    """The counters and histograms of one app, and the scrape-time spend collector."""

    def __init__(self, spend: WorkspaceSpend | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        registry = None if self.multiprocess else self.registry
        self.requests = Counter(
            "escalade_http_requests", "HTTP requests", ["route", "method", "status"], registry=registry
        )
        self.latency = Histogram(
            "escalade_http_request_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.tiers = Counter(
            "escalade_tier_decisions",
            "Requests by the tier they started and ended on",
            ["start", "end"],
            registry=registry,
        )
        self.escalations = Counter(
            "escalade_escalations", "Escalations to a higher tier, by reason", ["reason"], registry=registry
        )
        self.upstream_errors = Counter(
            "escalade_upstream_errors", "Failed upstream calls, by cause", ["cause"], registry=registry
        )
        self.decisions = Counter(
            "escalade_decisions", "Agent decisions judged, by recommendation", ["recommendation"], registry=registry
        )
        if self.multiprocess:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]  # prometheus-client leaves it untyped
        if spend is not None:
            self.registry.register(_SpendCollector(spend))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def observe_result(self, start: str, end: str | None, escalations: Iterable[str], errors: Iterable[str]) -> None:
        """One answered request: its tiers, each escalation's reason, each failed call's cause."""
        self.tiers.labels(start, end or "none").inc()
        for reason in escalations:
            self.escalations.labels(reason_label(reason)).inc()
        for cause in errors:
            self.upstream_errors.labels(reason_label(cause)).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)


def month_now() -> datetime:
    return datetime.now(UTC)
