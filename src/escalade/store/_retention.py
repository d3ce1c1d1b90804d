"""Retention: runs (with their rows and budget lines), telemetry and finished budget holds past a cutoff."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from escalade.budget import request_line, run_line
from escalade.exceptions import StoreError
from escalade.store._base import CleanupReport
from escalade.store._engine import Database
from escalade.store._models import (
    AttemptRow,
    Base,
    BudgetHoldRow,
    BudgetLineRow,
    EscalationRow,
    ItemRow,
    RunRow,
    TelemetryEventRow,
)

__all__ = ["RetentionRepository"]

logger = logging.getLogger(__name__)


class RetentionRepository:
    """Deletes what is older than the retention period, across the store's tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def cleanup(self, retention_days: int, *, dry_run: bool = False) -> CleanupReport:
        """Delete runs (with their rows and budget lines), telemetry and finished budget holds older than
        ``retention_days``. Workspace month lines and holds still holding money are kept."""
        if retention_days < 0:
            raise StoreError(f"retention days must be >= 0, got {retention_days}")
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        finished_holds = BudgetHoldRow.status != "held", BudgetHoldRow.created_at < cutoff.timestamp()
        with self.db.session() as s:
            run_ids = list(s.scalars(select(RunRow.id).where(RunRow.started_at < cutoff).order_by(RunRow.started_at)))
            attempts = _count(s, AttemptRow, AttemptRow.run_id.in_(run_ids))
            events = _count(s, TelemetryEventRow, TelemetryEventRow.created_at < cutoff)
            holds = _count(s, BudgetHoldRow, *finished_holds)
            if not dry_run:
                _delete_runs(s, run_ids)
                s.execute(delete(TelemetryEventRow).where(TelemetryEventRow.created_at < cutoff))
                s.execute(delete(BudgetHoldRow).where(*finished_holds))
                _delete_run_lines(s, run_ids)
        logger.info(
            "cleanup before %s%s: %d run(s), %d attempt(s), %d telemetry event(s), %d budget hold(s)",
            f"{cutoff:%Y-%m-%d %H:%M}",
            " (dry run: nothing deleted)" if dry_run else "",
            len(run_ids),
            attempts,
            events,
            holds,
        )
        return CleanupReport(
            cutoff=cutoff,
            dry_run=dry_run,
            runs=len(run_ids),
            attempts=attempts,
            telemetry_events=events,
            run_ids=run_ids,
            budget_holds=holds,
        )


def _count(s: Session, table: type[Base], *where: ColumnElement[bool]) -> int:
    return s.scalar(select(func.count()).select_from(table).where(*where)) or 0


def _delete_runs(s: Session, run_ids: list[str]) -> None:
    """The runs with their attempts, items and escalations."""
    for table in (AttemptRow, ItemRow, EscalationRow):
        s.execute(delete(table).where(table.run_id.in_(run_ids)))
    s.execute(delete(RunRow).where(RunRow.id.in_(run_ids)))


def _delete_run_lines(s: Session, run_ids: list[str]) -> None:
    """The runs' budget lines (the run's own and its requests'), unless they still hold a reservation."""
    for run_id in run_ids:
        lines = (BudgetLineRow.key == run_line(run_id)) | BudgetLineRow.key.startswith(
            request_line(run_id, ""), autoescape=True
        )
        s.execute(delete(BudgetLineRow).where(lines, BudgetLineRow.reserved == 0))
