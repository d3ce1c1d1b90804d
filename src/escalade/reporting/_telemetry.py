"""Local, privacy-preserving usage telemetry.

Events record names and numbers only (workflow, tier, model, cost, tokens, CQS, escalations,
durations). User ids are stored as SHA-256 hashes. Prompt and response text are never recorded:
the event type has no field that could hold them.
"""

from __future__ import annotations

import getpass
import hashlib
from datetime import UTC, datetime

from escalade.cascade import AttemptRecord, ProgressiveWorkflowResult, RunListener
from escalade.ladder import EscalationConfig
from escalade.store import SqlStore

__all__ = ["ProgressiveTelemetry", "hash_user_id"]


def hash_user_id(user_id: str) -> str:
    """SHA-256 hex digest of ``user_id``.

    >>> hash_user_id("user@example.com")[:12]
    'b4c9a289323b'
    """
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry / no login name
        return "unknown"


class ProgressiveTelemetry(RunListener):
    """Writes telemetry events for a run into ``store``."""

    def __init__(self, store: SqlStore, *, workflow_name: str = "progressive", user_id: str | None = None) -> None:
        self.store = store
        self.workflow_name = workflow_name
        self.user_hash = hash_user_id(user_id if user_id is not None else _default_user())
        self._started: dict[str, datetime] = {}

    def _event(self, event: str, run_id: str | None, data: dict[str, object] | None = None, **fields: object) -> None:
        self.store.add_event(
            created_at=datetime.now(UTC),
            event=event,
            workflow=self.workflow_name,
            run_id=run_id,
            user_hash=self.user_hash,
            data=data or {},
            **fields,
        )

    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self._started[run_id] = datetime.now(UTC)
        self.workflow_name = workflow
        self._event("workflow_started", run_id)

    def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
        self.track_tier_execution(run_id, record)

    def track_tier_execution(self, run_id: str | None, record: AttemptRecord) -> None:
        """Record one attempt: tier, model, cost, tokens, CQS, duration."""
        self._event(
            "tier_attempt",
            run_id,
            {"passed": record.passed, "provider_error": record.error is not None},
            tier=record.tier,
            model=record.model,
            cost_usd=record.cost_usd,
            tokens=record.usage.total_tokens,
            cqs=record.cqs,
            duration_s=record.latency_s,
        )

    def on_escalation(self, run_id: str, item_id: str, from_tier: str, to_tier: str, reason: str) -> None:
        self.track_escalation(run_id, from_tier=from_tier, to_tier=to_tier)

    def track_escalation(self, run_id: str | None, *, from_tier: str, to_tier: str) -> None:
        """Record that an item climbed from ``from_tier`` to ``to_tier`` (reason text is not kept)."""
        self._event("escalation", run_id, {"to_tier": to_tier}, tier=from_tier, escalated=True)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        self.track_workflow_completion(result)

    def track_workflow_completion(self, result: ProgressiveWorkflowResult) -> None:
        """Record the run's totals."""
        started = self._started.pop(result.run_id, result.started_at)
        duration = ((result.finished_at or datetime.now(UTC)) - started).total_seconds()
        self._event(
            "workflow_completed",
            result.run_id,
            cost_usd=result.total_cost,
            tokens=sum(t.tokens for t in result.tier_results),
            escalated=result.escalation_rate > 0,
            duration_s=duration,
        )
