"""Trigger outcomes in the store's database: a :class:`~escalade.routing.TriggerHistory` shared by every process."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, func, select

from escalade.routing._validation import TriggerOutcome, TriggerStats, stats_from_counts
from escalade.store._engine import Database
from escalade.store._models import TriggerOutcomeRow

__all__ = ["TriggerRepository"]


def _in_workspace(workspace: str | None) -> ColumnElement[bool]:
    column = TriggerOutcomeRow.workspace
    return column.is_(None) if workspace is None else column == workspace


class TriggerRepository:
    """Each trigger's recorded outcomes (the task as a hash only), counted in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_trigger_outcome(self, outcome: TriggerOutcome) -> None:
        """Keep one trigger outcome (the task as a hash only)."""
        self.db.insert(
            TriggerOutcomeRow,
            {
                "recorded_at": outcome.recorded_at,
                "trigger": outcome.trigger,
                "category": outcome.category.value,
                "confidence": outcome.confidence,
                "escalated": outcome.escalated,
                "needed": outcome.needed,
                "task_hash": outcome.task_hash,
                "workspace": outcome.workspace,
            },
        )

    def record_trigger_outcome_once(self, outcome: TriggerOutcome) -> bool:
        """Keep ``outcome`` unless this trigger already has one for the same task in the same workspace;
        whether it was kept.

        One observation per trigger, task and workspace, the first one standing: a run stored again,
        resumed or replayed never counts the same evidence twice.
        """
        seen = select(TriggerOutcomeRow.id).where(
            TriggerOutcomeRow.trigger == outcome.trigger,
            TriggerOutcomeRow.task_hash == outcome.task_hash,
            _in_workspace(outcome.workspace),
        )
        with self.db.session() as s:
            if s.scalars(seen.limit(1)).first() is not None:
                return False
        self.record_trigger_outcome(outcome)
        return True

    def trigger_stats(
        self, *, task_hashes: Collection[str] | None = None, workspace: str | None = None
    ) -> dict[str, TriggerStats]:
        """True and false positives and negatives per trigger, counted in the database.

        ``task_hashes`` counts only the outcomes of those tasks; ``workspace`` only those of that
        workspace's requests (``None``: every outcome, whatever its workspace).
        """
        query = select(
            TriggerOutcomeRow.trigger, TriggerOutcomeRow.escalated, TriggerOutcomeRow.needed, func.count()
        ).group_by(TriggerOutcomeRow.trigger, TriggerOutcomeRow.escalated, TriggerOutcomeRow.needed)
        if task_hashes is not None:
            query = query.where(TriggerOutcomeRow.task_hash.in_(sorted(set(task_hashes))))
        if workspace is not None:
            query = query.where(TriggerOutcomeRow.workspace == workspace)
        counts: dict[str, dict[tuple[bool, bool], int]] = {}
        with self.db.session() as s:
            for trigger, escalated, needed, count in s.execute(query):
                counts.setdefault(trigger, {})[(bool(escalated), bool(needed))] = int(count)
        return {name: stats_from_counts(name, per) for name, per in sorted(counts.items())}
