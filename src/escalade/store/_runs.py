"""Runs, their attempts, escalations and items: written as a run happens, read back as summaries.

:class:`RunRepository` is a :class:`~escalade.cascade.RunListener`: every attempt is committed the
moment it finishes, so an interrupted run keeps all finished work. A write the database refuses
raises :class:`~escalade.exceptions.DatabaseError` naming the database (password masked), the run
and the item; the run then stops, and when it finishes it is stored as ``failed`` with that error
among its warnings, never left ``running``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalade.cascade import (
    ANSWERED_STATUSES,
    AttemptRecord,
    ItemResult,
    ProgressiveWorkflowResult,
    RunListener,
    count_causes,
)
from escalade.exceptions import DatabaseError, RunNotFoundError, StoreError
from escalade.ladder import EscalationConfig
from escalade.store._base import LoggedItem, LoggedTier, RunSummary
from escalade.store._engine import Database
from escalade.store._models import AttemptRow, EscalationRow, ItemRow, RunRow

__all__ = ["RunRepository"]

logger = logging.getLogger(__name__)


class RunRepository(RunListener):
    """Runs, attempts, escalations and items in the store's database (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- RunListener -------------------------------------------------------------------------------
    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self._start_run(run_id, workflow, config.tiers.names, config.to_dict(), items, datetime.now(UTC))

    def _start_run(
        self, run_id: str, workflow: str, tier_names: Iterable[str], config: dict[str, Any], items: int, at: datetime
    ) -> None:
        self.db.insert(
            RunRow,
            {
                "id": run_id,
                "workflow": workflow,
                "status": "running",
                "started_at": at,
                "items_total": items,
                "tier_names": list(tier_names),
                "config": config,
                "metrics": {},
                "notes": [],
                "warnings": [],
            },
            run_id=run_id,
        )

    def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
        self.db.insert(AttemptRow, _attempt_values(run_id, record), run_id=run_id, item_id=record.item_id)

    def on_escalation(self, run_id: str, item_id: str, from_tier: str, to_tier: str, reason: str) -> None:
        self.db.insert(
            EscalationRow,
            {
                "run_id": run_id,
                "item_id": item_id,
                "from_tier": from_tier,
                "to_tier": to_tier,
                "reason": reason,
                "created_at": datetime.now(UTC),
            },
            run_id=run_id,
            item_id=item_id,
        )

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        self.db.insert(ItemRow, _item_values(run_id, item), run_id=run_id, item_id=item.item_id)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        """Store the items not stored yet and the run's end; a run a write failed for ends ``failed``."""
        run_id = result.run_id
        with self.db.session(run_id=run_id) as s:
            done = set(s.scalars(select(ItemRow.item_id).where(ItemRow.run_id == run_id)))
        for item in result.items:
            if item.item_id not in done and item.status != "not_run":
                with suppress(DatabaseError):  # kept by the database: the run is marked failed below
                    self.db.insert(ItemRow, _item_values(run_id, item), run_id=run_id, item_id=item.item_id)
        failure = self.db.pop_failure(run_id)
        warnings = [*result.warnings, *([f"store failure: {failure}"] if failure else [])]
        with self.db.session(run_id=run_id) as s:
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    status="failed" if failure else result.status, finished_at=result.finished_at, warnings=warnings
                )
            )
        logger.info("run %s saved to %s: %s", run_id, self.db.database, "failed" if failure else result.status)
        if failure is not None:
            raise failure

    def save_result(self, result: ProgressiveWorkflowResult) -> str:
        """Store a run that was not recorded as it ran (``result.save_to_disk()``); return its run id.

        The run's events are replayed as they happened; a run already stored is left as it is.
        """
        run_id, names = result.run_id, result.tier_names
        with self.db.session(run_id=run_id) as s:
            if s.get(RunRow, run_id) is not None:
                return run_id
        config = result.config.to_dict() if result.config is not None else {}
        self._start_run(run_id, result.workflow, names, config, len(result.items), result.started_at)
        for item in result.items:
            for tier in item.tiers:
                for record in tier.attempts:
                    self.on_attempt(run_id, record)
                if tier.escalated and tier.tier in names[:-1]:
                    above = names[names.index(tier.tier) + 1]
                    self.on_escalation(run_id, item.item_id, tier.tier, above, tier.escalation_reason or "")
        if result.metrics or result.notes:
            self.set_metrics(run_id, dict(result.metrics), notes=result.notes)
        self.on_run_finished(result)
        return run_id

    def set_metrics(self, run_id: str, metrics: dict[str, Any], *, notes: Iterable[str] = ()) -> None:
        """Attach reported figures (e.g. replay accuracy) and set-up notes to a run."""
        with self.db.session(run_id=run_id) as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(metrics=metrics, notes=list(notes)))

    def mark_interrupted(self, run_id: str) -> None:
        """Mark a run that was stopped midway; its finished attempts stay."""
        with self.db.session(run_id=run_id) as s:
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == "running")
                .values(status="interrupted", finished_at=datetime.now(UTC))
            )
        logger.info("run %s marked interrupted", run_id)

    # -- queries -------------------------------------------------------------------------------------
    def list_runs(self, *, limit: int | None = None) -> list[RunSummary]:
        """Stored runs, newest first (at most ``limit``, which must be >= 1)."""
        if limit is not None and limit < 1:
            raise StoreError(f"limit must be at least 1, got {limit}")
        with self.db.session() as s:
            query = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc())
            runs = list(s.scalars(query.limit(limit) if limit else query))
            return [_summarise(s, run) for run in runs]

    def get_run(self, run_id: str) -> RunSummary:
        """One stored run; raises ``RunNotFoundError``."""
        with self.db.session() as s:
            run = s.get(RunRow, run_id)
            if run is None:
                raise RunNotFoundError(run_id)
            return _summarise(s, run)

    # -- logged outcomes, for learning ------------------------------------------------------------
    def logged_items(self, *, workflow: str | None = None) -> list[LoggedItem]:
        """Finished items that kept their prompt, with each tier's outcome, oldest run first."""
        finished = ("accepted", "unresolved")
        items_query = (
            select(ItemRow, RunRow.tier_names)
            .join(RunRow, RunRow.id == ItemRow.run_id)
            .where(ItemRow.prompt.is_not(None), ItemRow.status.in_(finished))
            .order_by(RunRow.started_at, ItemRow.item_id)
        )
        attempts_query = select(AttemptRow).where(AttemptRow.error.is_(None)).order_by(AttemptRow.id)
        if workflow is not None:
            items_query = items_query.where(RunRow.workflow == workflow)
            attempts_query = attempts_query.join(RunRow, RunRow.id == AttemptRow.run_id).where(
                RunRow.workflow == workflow
            )
        with self.db.session() as s:
            rows = list(s.execute(items_query))
            per_tier: dict[tuple[str, str, str], list[AttemptRow]] = {}
            for attempt in s.scalars(attempts_query):
                per_tier.setdefault((attempt.run_id, attempt.item_id, attempt.tier), []).append(attempt)
        logged = []
        for item, tier_names in rows:
            tiers = {
                tier: LoggedTier(
                    passed=any(a.passed for a in attempts),
                    cost_usd=sum(a.cost_usd for a in attempts),
                    answer=attempts[-1].answer,
                )
                for tier in tier_names
                if (attempts := per_tier.get((item.run_id, item.item_id, tier)))
            }
            logged.append(LoggedItem(item.run_id, item.item_id, item.prompt or "", tuple(tier_names), tiers))
        return logged


def _summarise(s: Session, run: RunRow) -> RunSummary:
    """A run's summary, aggregated from its attempts, items and escalations."""
    attempts = list(s.scalars(select(AttemptRow).where(AttemptRow.run_id == run.id).order_by(AttemptRow.id)))
    items = list(s.scalars(select(ItemRow).where(ItemRow.run_id == run.id)))
    worked = [i for i in items if i.status != "not_run"]
    answered = [i for i in items if i.status in ANSWERED_STATUSES]
    return RunSummary(
        run_id=run.id,
        workflow=run.workflow,
        status=run.status,
        started_at=_utc(run.started_at) or run.started_at,
        finished_at=_utc(run.finished_at),
        items_total=run.items_total,
        items_worked=len(worked),
        items_answered=len(answered),
        total_cost=sum(a.cost_usd for a in attempts),
        answered_cost=sum(i.cost_usd for i in answered),
        premium_baseline_cost=sum(i.premium_baseline_usd for i in answered),
        escalation_rate=(sum(i.escalated for i in worked) / len(worked)) if worked else 0.0,
        success_rate=(sum(i.status == "accepted" for i in worked) / len(worked)) if worked else 0.0,
        error_counts=count_causes(a.error_cause or "unknown" for a in attempts if a.error is not None),
        tiers={name: _tier_figures(s, run.id, name, attempts, items) for name in run.tier_names},
        metrics=dict(run.metrics or {}),
        notes=list(run.notes or []),
        warnings=list(run.warnings or []),
        config=dict(run.config),
    )


def _tier_figures(
    s: Session, run_id: str, tier: str, attempts: list[AttemptRow], items: list[ItemRow]
) -> dict[str, Any]:
    """One tier's figures in a run summary."""
    mine = [a for a in attempts if a.tier == tier]
    scored = [a.cqs for a in mine if a.cqs is not None]
    escalated = {a.item_id for a in mine} & _escalated_from(s, run_id, tier)
    return {
        "items": len({a.item_id for a in mine}),
        "final_items": sum(1 for i in items if i.final_tier == tier),
        "escalated": len(escalated),
        "attempts": sum(1 for a in mine if a.error is None),
        "cost_usd": sum(a.cost_usd for a in mine),
        "tokens": sum(a.input_tokens + a.cached_input_tokens + a.cache_write_tokens + a.output_tokens for a in mine),
        "mean_cqs": round(fmean(scored), 3) if scored else None,
    }


def _escalated_from(s: Session, run_id: str, tier: str) -> set[str]:
    query = select(EscalationRow.item_id).where(EscalationRow.run_id == run_id, EscalationRow.from_tier == tier)
    return set(s.scalars(query))


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _attempt_values(run_id: str, record: AttemptRecord) -> dict[str, Any]:
    usage = record.usage
    return {
        "run_id": run_id,
        "item_id": record.item_id,
        "tier": record.tier,
        "attempt": record.attempt,
        "model": record.model,
        "cqs": record.cqs,
        "passed": record.passed,
        "reason": record.reason,
        "error": record.error,
        "error_cause": record.error_cause,
        "cost_usd": record.cost_usd,
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "price_data_version": record.price_data_version,
        "output_tokens": usage.output_tokens,
        "calls": record.calls,
        "latency_s": record.latency_s,
        "signals": record.analysis.to_dict() if record.analysis else None,
        "answer": record.text,
        "created_at": datetime.now(UTC),
    }


def _item_values(run_id: str, item: ItemResult) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "item_id": item.item_id,
        "status": item.status,
        "final_tier": item.final_tier,
        "final_model": item.final_model,
        "final_cqs": item.final_cqs,
        "escalated": item.escalated,
        "cost_usd": item.cost_usd,
        "premium_baseline_usd": item.premium_baseline_usd,
        "error": item.error,
        "prompt": item.prompt,
    }
