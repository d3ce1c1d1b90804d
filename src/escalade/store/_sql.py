"""The SQLAlchemy store: SQLite file by default, any SQLAlchemy URL otherwise.

It is a :class:`~escalade.cascade._executor.RunListener`: every attempt is committed the moment it finishes,
so an interrupted run keeps all finished work. A write the database refuses raises
:class:`~escalade.exceptions.DatabaseError` naming the database (password masked), the run and the
item; the run then stops, and when it finishes it is stored as ``failed`` with that error among
its warnings, never left ``running``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any

from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from escalade.budget import WorkspaceBudget, request_line, run_line
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
from escalade.routing._validation import TriggerOutcome, TriggerStats, stats_from_counts
from escalade.store._base import CleanupReport, LoggedItem, LoggedTier, RunSummary
from escalade.store._ledger import SqlLedger
from escalade.store._migrate import upgrade
from escalade.store._models import (
    AttemptRow,
    Base,
    BudgetHoldRow,
    BudgetLineRow,
    EscalationRow,
    ItemRow,
    ProviderKeyRow,
    RunRow,
    TelemetryEventRow,
    TriggerOutcomeRow,
    WorkspaceBudgetRow,
)
from escalade.store._urls import default_database_url, first_line, resolve_database_url

__all__ = ["SqlStore", "default_database_url", "resolve_database_url"]

logger = logging.getLogger(__name__)


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class SqlStore(RunListener):
    """Runs, attempts, escalations and telemetry in one SQL database."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = resolve_database_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(f"not a database URL: {self.url!r} ({first_line(exc)})") from None
        #: The database's URL with any password masked, as errors name it.
        self.database = shown = parsed.render_as_string(hide_password=True)
        #: The first write each run failed with, until the run finishes.
        self._failures: dict[str, DatabaseError] = {}
        uri = parsed.query.get("uri") == "true" or str(parsed.database or "").startswith("file:")
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") and not uri:
            try:  # a SQLite URI ('file:...?mode=ro') names an existing file: nothing to create
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create its folder: {exc.strerror}", database=shown) from None
        # SQLite: writers wait up to 30 s for the write lock (the budget ledger serialises on it).
        connect_args = {"timeout": 30} if parsed.get_backend_name() == "sqlite" else {}
        try:
            self.engine: Engine = create_engine(self.url, connect_args=connect_args)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open database {shown}: {first_line(exc)}") from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            try:
                upgrade(self.engine)
            except (SQLAlchemyError, CommandError) as exc:
                raise DatabaseError(f"cannot open or migrate it: {first_line(exc)}", database=shown) from None

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def session(self, *, run_id: str | None = None) -> Iterator[Session]:
        """A session committed on success, rolled back on error (which names ``run_id``, if given)."""
        with self._session() as session:
            try:
                yield session
                session.commit()
            except (SQLAlchemyError, UnicodeError) as exc:
                session.rollback()
                raise self._failed(exc, run_id=run_id) from exc

    def _failed(self, exc: BaseException, *, run_id: str | None, item_id: str | None = None) -> DatabaseError:
        """The error for a failed write; a run's first one is kept, to mark the run failed when it finishes."""
        error = DatabaseError(first_line(exc), database=self.database, run_id=run_id, item_id=item_id)
        logger.warning("%s", error)
        if run_id is not None:
            self._failures.setdefault(run_id, error)
        return error

    def _insert(
        self,
        model: type[Base],
        rows: dict[str, Any] | list[dict[str, Any]],
        *,
        run_id: str | None = None,
        item_id: str | None = None,
    ) -> None:
        """Insert and commit at once (Core, not the ORM: this is the per-attempt hot path)."""
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(model), rows)
        except (SQLAlchemyError, UnicodeError) as exc:  # UnicodeError: a lone surrogate, on either database
            raise self._failed(exc, run_id=run_id, item_id=item_id) from exc

    # -- RunListener -------------------------------------------------------------------------------
    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self._insert(
            RunRow,
            {
                "id": run_id,
                "workflow": workflow,
                "status": "running",
                "started_at": datetime.now(UTC),
                "items_total": items,
                "tier_names": list(config.tiers.names),
                "config": config.to_dict(),
                "metrics": {},
                "notes": [],
                "warnings": [],
            },
            run_id=run_id,
        )

    def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
        usage = record.usage
        self._insert(
            AttemptRow,
            {
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
            },
            run_id=run_id,
            item_id=record.item_id,
        )

    def on_escalation(self, run_id: str, item_id: str, from_tier: str, to_tier: str, reason: str) -> None:
        self._insert(
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
        self._insert(ItemRow, _item_values(run_id, item), run_id=run_id, item_id=item.item_id)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        """Store the items not stored yet and the run's end; a run a write failed for ends ``failed``."""
        run_id = result.run_id
        with self.session(run_id=run_id) as s:
            done = set(s.scalars(select(ItemRow.item_id).where(ItemRow.run_id == run_id)))
        for item in result.items:
            if item.item_id not in done and item.status != "not_run":
                with suppress(DatabaseError):  # kept in self._failures: the run is marked failed below
                    self._insert(ItemRow, _item_values(run_id, item), run_id=run_id, item_id=item.item_id)
        failure = self._failures.pop(run_id, None)
        warnings = [*result.warnings, *([f"store failure: {failure}"] if failure else [])]
        with self.session(run_id=run_id) as s:
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    status="failed" if failure else result.status, finished_at=result.finished_at, warnings=warnings
                )
            )
        logger.info("run %s saved to %s: %s", run_id, self.database, "failed" if failure else result.status)
        if failure is not None:
            raise failure

    def set_metrics(self, run_id: str, metrics: dict[str, Any], *, notes: Iterable[str] = ()) -> None:
        """Attach reported figures (e.g. replay accuracy) and set-up notes to a run."""
        with self.session(run_id=run_id) as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(metrics=metrics, notes=list(notes)))

    def mark_interrupted(self, run_id: str) -> None:
        """Mark a run that was stopped midway; its finished attempts stay."""
        with self.session(run_id=run_id) as s:
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
        with self.session() as s:
            query = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc())
            runs = list(s.scalars(query.limit(limit) if limit else query))
            return [self._summarise(s, run) for run in runs]

    def get_run(self, run_id: str) -> RunSummary:
        """One stored run; raises ``RunNotFoundError``."""
        with self.session() as s:
            run = s.get(RunRow, run_id)
            if run is None:
                raise RunNotFoundError(run_id)
            return self._summarise(s, run)

    def _summarise(self, s: Session, run: RunRow) -> RunSummary:
        attempts = list(s.scalars(select(AttemptRow).where(AttemptRow.run_id == run.id).order_by(AttemptRow.id)))
        items = list(s.scalars(select(ItemRow).where(ItemRow.run_id == run.id)))
        worked = [i for i in items if i.status != "not_run"]
        answered = [i for i in items if i.status in ANSWERED_STATUSES]
        tiers: dict[str, dict[str, Any]] = {}
        for name in run.tier_names:
            mine = [a for a in attempts if a.tier == name]
            scored = [a.cqs for a in mine if a.cqs is not None]
            escalated = {a.item_id for a in mine} & self._escalated_from(s, run.id, name)
            tiers[name] = {
                "items": len({a.item_id for a in mine}),
                "final_items": sum(1 for i in items if i.final_tier == name),
                "escalated": len(escalated),
                "attempts": sum(1 for a in mine if a.error is None),
                "cost_usd": sum(a.cost_usd for a in mine),
                "tokens": sum(
                    a.input_tokens + a.cached_input_tokens + a.cache_write_tokens + a.output_tokens for a in mine
                ),
                "mean_cqs": round(fmean(scored), 3) if scored else None,
            }
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
            tiers=tiers,
            metrics=dict(run.metrics or {}),
            notes=list(run.notes or []),
            warnings=list(run.warnings or []),
            config=dict(run.config),
        )

    @staticmethod
    def _escalated_from(s: Session, run_id: str, tier: str) -> set[str]:
        query = select(EscalationRow.item_id).where(EscalationRow.run_id == run_id, EscalationRow.from_tier == tier)
        return set(s.scalars(query))

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
        with self.session() as s:
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

    # -- provider keys (ciphertext only: escalade.store._keys encrypts and decrypts) ------------------------
    def put_provider_key(self, workspace: str, provider: str, ciphertext: str) -> None:
        """Insert or replace a workspace's encrypted key for ``provider``."""
        with self.session() as s:
            row = s.get(ProviderKeyRow, (workspace, provider))
            if row is None:
                s.add(
                    ProviderKeyRow(
                        workspace=workspace, provider=provider, ciphertext=ciphertext, updated_at=datetime.now(UTC)
                    )
                )
            else:
                row.ciphertext, row.updated_at = ciphertext, datetime.now(UTC)

    def provider_key(self, workspace: str, provider: str) -> str | None:
        """The encrypted key, or ``None``."""
        with self.session() as s:
            row = s.get(ProviderKeyRow, (workspace, provider))
            return row.ciphertext if row is not None else None

    def delete_provider_key(self, workspace: str, provider: str) -> bool:
        """Remove a key; whether there was one."""
        with self.session() as s:
            deleted = s.execute(
                delete(ProviderKeyRow).where(ProviderKeyRow.workspace == workspace, ProviderKeyRow.provider == provider)
            )
            return bool(deleted.rowcount)  # type: ignore[attr-defined]

    def provider_key_ciphertexts(self) -> list[tuple[str, str, str]]:
        """Every stored key as ``(workspace, provider, ciphertext)``, so a master key can be checked against all."""
        with self.session() as s:
            query = select(ProviderKeyRow.workspace, ProviderKeyRow.provider, ProviderKeyRow.ciphertext)
            return [
                (w, p, c) for w, p, c in s.execute(query.order_by(ProviderKeyRow.workspace, ProviderKeyRow.provider))
            ]

    def provider_key_names(self, workspace: str) -> list[str]:
        """Providers with a stored key in ``workspace`` (never the keys)."""
        with self.session() as s:
            query = select(ProviderKeyRow.provider).where(ProviderKeyRow.workspace == workspace)
            return sorted(s.scalars(query))

    # -- budgets ---------------------------------------------------------------------------------------
    def ledger(self, *, clock: Callable[[], float] = time.time) -> SqlLedger:
        """The budget ledger kept in this database (shared by every process that opens it)."""
        return SqlLedger(self.engine, clock=clock)

    def put_workspace_budget(self, budget: WorkspaceBudget) -> None:
        """Insert or replace a workspace's standing budget."""
        with self.session() as s:
            row = s.get(WorkspaceBudgetRow, budget.workspace)
            if row is None:
                row = WorkspaceBudgetRow(workspace=budget.workspace)
                s.add(row)
            row.monthly_limit_usd = budget.monthly_limit_usd
            row.per_request_limit_usd = budget.per_request_limit_usd
            row.timezone = budget.timezone
            row.updated_at = datetime.now(UTC)

    def workspace_budget(self, workspace: str) -> WorkspaceBudget | None:
        """A workspace's standing budget, or ``None`` when it has none."""
        with self.session() as s:
            row = s.get(WorkspaceBudgetRow, workspace)
            if row is None:
                return None
            return WorkspaceBudget(
                workspace=row.workspace,
                monthly_limit_usd=row.monthly_limit_usd,
                per_request_limit_usd=row.per_request_limit_usd,
                timezone=row.timezone,
            )

    # -- trigger history (a TriggerHistory) -------------------------------------------------------
    def record_trigger_outcome(self, outcome: TriggerOutcome) -> None:
        """Keep one trigger outcome (the task as a hash only)."""
        self._insert(
            TriggerOutcomeRow,
            {
                "recorded_at": outcome.recorded_at,
                "trigger": outcome.trigger,
                "category": outcome.category.value,
                "confidence": outcome.confidence,
                "escalated": outcome.escalated,
                "needed": outcome.needed,
                "task_hash": outcome.task_hash,
            },
        )

    def trigger_stats(self) -> dict[str, TriggerStats]:
        """True and false positives and negatives per trigger, counted in the database."""
        query = select(
            TriggerOutcomeRow.trigger, TriggerOutcomeRow.escalated, TriggerOutcomeRow.needed, func.count()
        ).group_by(TriggerOutcomeRow.trigger, TriggerOutcomeRow.escalated, TriggerOutcomeRow.needed)
        counts: dict[str, dict[tuple[bool, bool], int]] = {}
        with self.session() as s:
            for trigger, escalated, needed, count in s.execute(query):
                counts.setdefault(trigger, {})[(bool(escalated), bool(needed))] = int(count)
        return {name: stats_from_counts(name, per) for name, per in sorted(counts.items())}

    # -- telemetry and retention -------------------------------------------------------------------
    def add_event(self, **values: Any) -> None:
        """Append one telemetry event (columns of ``TelemetryEventRow``)."""
        self._insert(TelemetryEventRow, values)

    def events(self) -> list[TelemetryEventRow]:
        """All telemetry events, oldest first."""
        with self.session() as s:
            return list(s.scalars(select(TelemetryEventRow).order_by(TelemetryEventRow.id)))

    def cleanup(self, retention_days: int, *, dry_run: bool = False) -> CleanupReport:
        """Delete runs (with their rows and budget lines), telemetry and finished budget holds older than
        ``retention_days``. Workspace month lines and holds still holding money are kept."""
        if retention_days < 0:
            raise StoreError(f"retention days must be >= 0, got {retention_days}")
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        with self.session() as s:
            run_ids = list(s.scalars(select(RunRow.id).where(RunRow.started_at < cutoff).order_by(RunRow.started_at)))
            attempts = s.scalar(select(func.count()).select_from(AttemptRow).where(AttemptRow.run_id.in_(run_ids))) or 0
            events = (
                s.scalar(
                    select(func.count()).select_from(TelemetryEventRow).where(TelemetryEventRow.created_at < cutoff)
                )
                or 0
            )
            finished_holds = BudgetHoldRow.status != "held", BudgetHoldRow.created_at < cutoff.timestamp()
            holds = s.scalar(select(func.count()).select_from(BudgetHoldRow).where(*finished_holds)) or 0
            if not dry_run:
                for table in (AttemptRow, ItemRow, EscalationRow):
                    s.execute(delete(table).where(table.run_id.in_(run_ids)))
                s.execute(delete(RunRow).where(RunRow.id.in_(run_ids)))
                s.execute(delete(TelemetryEventRow).where(TelemetryEventRow.created_at < cutoff))
                s.execute(delete(BudgetHoldRow).where(*finished_holds))
                for run_id in run_ids:
                    lines = (BudgetLineRow.key == run_line(run_id)) | BudgetLineRow.key.startswith(
                        request_line(run_id, ""), autoescape=True
                    )
                    s.execute(delete(BudgetLineRow).where(lines, BudgetLineRow.reserved == 0))
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
