"""Local, privacy-preserving usage telemetry.

Events record names and numbers only (workflow, tier, model, cost, tokens, CQS, escalations,
durations). User ids are stored as SHA-256 hashes. Prompt and response text are never recorded:
the event type has no field that could hold them.
"""

from __future__ import annotations

import getpass
import hashlib
import math
from datetime import UTC, datetime

from escalade.cascade import AttemptRecord, ProgressiveWorkflowResult, RunListener
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Tier
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
    """Writes telemetry events for a run into ``store`` (by default the default store, ``SqlStore()``).

    Seed 000 builds it as ``ProgressiveTelemetry(workflow_name="test-gen", user_id="user@example.com")``:
    without a store, events go where ``escalade list`` looks (``ESCALADE_DATABASE_URL``, else the
    user data directory).
    """

    def __init__(
        self, store: SqlStore | None = None, *, workflow_name: str = "progressive", user_id: str | None = None
    ) -> None:
        self.store = store if store is not None else SqlStore()
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

    def track_escalation(
        self,
        run_id: str | None = None,
        *,
        from_tier: Tier | str,
        to_tier: Tier | str,
        reason: str | None = None,
        item_count: int | None = None,
        current_cost: float | None = None,
    ) -> None:
        """Record that items climbed from ``from_tier`` to ``to_tier`` (tiers or their names).

        Seed 000's keywords: ``item_count`` (items that climbed) and ``current_cost`` (USD spent so far)
        are kept with the event. ``reason`` is accepted and not kept: telemetry keeps names and
        numbers only, and a custom predicate's reason may quote an answer.
        """
        data: dict[str, object] = {"to_tier": str(to_tier)}
        if item_count is not None:
            if isinstance(item_count, bool) or not isinstance(item_count, int) or item_count < 0:
                raise ConfigError(f"must be a whole number >= 0, got {item_count!r}", field="item_count")
            data["item_count"] = item_count
        if current_cost is not None:
            number = isinstance(current_cost, int | float) and not isinstance(current_cost, bool)
            if not number or not math.isfinite(current_cost) or current_cost < 0:
                raise ConfigError(f"must be a finite number of USD >= 0, got {current_cost!r}", field="current_cost")
            data["current_cost"] = float(current_cost)
        self._event("escalation", run_id, data, tier=str(from_tier), escalated=True)

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
