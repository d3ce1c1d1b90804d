"""The escalation engine's store in SQL (SQLite or PostgreSQL), shared by every process and replica.

A decision and its audit entry are written in one transaction, as are an outcome and its entry.
Appending to the audit trail locks the one head row (``SELECT ... FOR UPDATE`` on PostgreSQL; the
whole database under ``BEGIN IMMEDIATE`` on SQLite), so concurrent writers extend the chain one at a
time and never fork it. Offsets move with one ``INSERT ... ON CONFLICT DO UPDATE`` that adds and
clamps in the database, so concurrent updates are never lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from escalade.autonomy import (
    AreaStats,
    AuditDraft,
    AuditEntry,
    AuditHead,
    AuditSnapshot,
    CalibrationRecord,
    DecisionRecord,
    Outcome,
    StoredRow,
    TypeStats,
    audit_key,
    check_append,
)
from escalade.exceptions import CalibrationNotFoundError, DecisionError, StoreError
from escalade.store._engine import Database, engine_of
from escalade.store._models import (
    AuditEntryRow,
    AuditHeadRow,
    AutonomyAreaRow,
    AutonomyCalibrationRow,
    AutonomyDecisionRow,
    AutonomyOffsetRow,
)
from escalade.store._transactions import transaction

__all__ = ["SqlAutonomyStore"]

_DECISIONS = cast(Table, AutonomyDecisionRow.__table__)
_AREAS = cast(Table, AutonomyAreaRow.__table__)
_OFFSETS = cast(Table, AutonomyOffsetRow.__table__)
_CALIBRATIONS = cast(Table, AutonomyCalibrationRow.__table__)
_ENTRIES = cast(Table, AuditEntryRow.__table__)
_HEAD = cast(Table, AuditHeadRow.__table__)
_WHAT = "escalation store"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _record(row: Any) -> DecisionRecord:
    outcome = Outcome(**row.outcome) if row.outcome else None
    return DecisionRecord(
        workspace=row.workspace,
        decision_id=row.decision_id,
        at=_utc(row.at),
        agent=row.agent,
        profile=row.profile,
        type=row.type,
        environment=row.environment,
        escalated=row.escalated,
        risk_accepted=row.risk_accepted,
        confidence=row.confidence,
        threshold=row.threshold,
        priority=row.priority,
        rule_hits=tuple(row.rule_hits),
        forced=row.forced,
        recommendation=row.recommendation,
        affected_files=tuple(row.affected_files),
        affected_systems=tuple(row.affected_systems),
        record_count=row.record_count,
        estimated_cost=row.estimated_cost,
        sampled=row.sampled,
        audit_seq=row.audit_seq,
        outcome=outcome,
        outcome_at=_utc(row.outcome_at) if row.outcome_at else None,
        outcome_seq=row.outcome_seq,
    )


def _decision_rows(row: Any) -> list[StoredRow]:
    """A decision row as the trail vouches for it: the decision, and its outcome columns when any is set."""
    record = _record(row)
    found = [StoredRow("decision", row.workspace, row.decision_id, row.audit_seq, record.sealed())]
    if any(value is not None for value in (row.outcome, row.outcome_at, row.outcome_seq, row.label)):
        fields = record.sealed_outcome(row.label)  # the label column, which the statistics read
        found.append(StoredRow("outcome", row.workspace, row.decision_id, row.outcome_seq, fields))
    return found


def _calibration(row: Any) -> CalibrationRecord:
    """A calibration from its body; its time from the column that decides which one is in force."""
    body = row.body
    return CalibrationRecord(
        id=body["id"],
        created_at=_utc(row.created_at),
        alpha=body["alpha"],
        delta=body["delta"],
        floors=body["floors"],
        labelled=body["labelled"],
        messages=body["messages"],
    )


class SqlAutonomyStore:
    """An :class:`~escalade.autonomy._history.AutonomyStore` in the store's database.

    ``engine`` is an engine or the store's :class:`~escalade.store.Database` (``SqlStore(url).autonomy()``
    passes it), with the schema migrated. ``key`` makes the audit trail an HMAC chain (default:
    ``ESCALADE_AUDIT_KEY``).
    """

    def __init__(self, engine: Engine | Database, *, key: bytes | None = None) -> None:
        self.engine = engine_of(engine)
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._key = key if key is not None else audit_key()

    # --- audit trail -------------------------------------------------------------------------------

    def _append(self, conn: Connection, audit: AuditDraft) -> AuditEntry:
        query = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)
        head = conn.execute(query if self._sqlite else query.with_for_update()).one_or_none()
        if head is None:
            raise StoreError(f"{_WHAT}: the audit trail's head row is missing (the database was edited)")
        last = conn.execute(
            select(_ENTRIES.c.seq, _ENTRIES.c.body, _ENTRIES.c.hash).where(_ENTRIES.c.seq == head.seq)
        ).one_or_none()
        check_append(AuditEntry(last.seq, last.body, last.hash) if last else None, self._key)
        entry = audit.after(AuditHead(head.seq, head.hash), self._key)
        conn.execute(_ENTRIES.insert().values(seq=entry.seq, body=entry.body, hash=entry.hash))
        conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=entry.seq, hash=entry.hash))
        return entry

    def append_audit(self, audit: AuditDraft) -> AuditEntry:
        with transaction(self.engine, what=_WHAT) as conn:
            return self._append(conn, audit)

    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        query = select(_ENTRIES.c.seq, _ENTRIES.c.body, _ENTRIES.c.hash).where(_ENTRIES.c.seq > after)
        query = query.order_by(_ENTRIES.c.seq).limit(limit)
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            return [AuditEntry(r.seq, r.body, r.hash) for r in conn.execute(query)]

    @staticmethod
    def _referenced(conn: Connection) -> int:
        columns = (_DECISIONS.c.audit_seq, _DECISIONS.c.outcome_seq, _CALIBRATIONS.c.audit_seq)
        return max(int(conn.execute(select(func.coalesce(func.max(c), 0))).scalar_one()) for c in columns)

    def audit_snapshot(self) -> AuditSnapshot:
        entries = select(_ENTRIES.c.seq, _ENTRIES.c.body, _ENTRIES.c.hash).order_by(_ENTRIES.c.seq)
        with transaction(self.engine, write=False, snapshot=True, what=_WHAT) as conn:
            found = [AuditEntry(r.seq, r.body, r.hash) for r in conn.execute(entries)]
            head = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one_or_none()
            referenced = self._referenced(conn)
            rows = [
                r for row in conn.execute(select(_DECISIONS).order_by(_DECISIONS.c.id)) for r in _decision_rows(row)
            ]
            for row in conn.execute(select(_CALIBRATIONS)):
                rows.append(StoredRow("calibration", row.workspace, row.id, row.audit_seq, _calibration(row).sealed()))
            for row in conn.execute(select(_AREAS)):
                counts = {"successes": row.successes, "failures": row.failures}
                rows.append(StoredRow("area", row.workspace, row.area, None, counts))
        return AuditSnapshot(found, AuditHead(head.seq, head.hash) if head else None, referenced, rows)

    # --- decisions and outcomes ----------------------------------------------------------------

    def add_decision(self, record: DecisionRecord, audit: AuditDraft) -> DecisionRecord:
        values = {
            "workspace": record.workspace,
            "decision_id": record.decision_id,
            "at": record.at.astimezone(UTC),  # SQLite keeps the wall time only: store UTC
            "agent": record.agent,
            "profile": record.profile,
            "type": record.type,
            "environment": record.environment,
            "escalated": record.escalated,
            "risk_accepted": record.risk_accepted,
            "confidence": record.confidence,
            "threshold": record.threshold,
            "priority": record.priority,
            "rule_hits": list(record.rule_hits),
            "forced": record.forced,
            "recommendation": record.recommendation,
            "affected_files": list(record.affected_files),
            "affected_systems": list(record.affected_systems),
            "record_count": record.record_count,
            "estimated_cost": record.estimated_cost,
            "sampled": record.sampled,
        }
        with transaction(self.engine, what=_WHAT) as conn:
            exists = select(_DECISIONS.c.id).where(
                _DECISIONS.c.workspace == record.workspace, _DECISIONS.c.decision_id == record.decision_id
            )
            if conn.execute(exists).first() is not None:
                raise DecisionError(
                    "this id was already decided in this workspace", decision_id=record.decision_id, field="id"
                )
            entry = self._append(conn, replace(audit, record=record.sealed()))
            try:
                conn.execute(_DECISIONS.insert().values(**values, audit_seq=entry.seq))
            except IntegrityError:  # a concurrent writer took the id first (PostgreSQL)
                raise DecisionError(
                    "this id was already decided in this workspace", decision_id=record.decision_id, field="id"
                ) from None
        return DecisionRecord(**{**record.__dict__, "audit_seq": entry.seq})

    def get_decision(self, workspace: str, decision_id: str) -> DecisionRecord | None:
        query = select(_DECISIONS).where(_DECISIONS.c.workspace == workspace, _DECISIONS.c.decision_id == decision_id)
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            row = conn.execute(query).one_or_none()
        return _record(row) if row else None

    def set_outcome(
        self, workspace: str, decision_id: str, outcome: Outcome, at: datetime, audit: AuditDraft
    ) -> DecisionRecord:
        where = (_DECISIONS.c.workspace == workspace, _DECISIONS.c.decision_id == decision_id)
        with transaction(self.engine, what=_WHAT) as conn:
            query = select(_DECISIONS).where(*where)
            row = conn.execute(query if self._sqlite else query.with_for_update()).one_or_none()
            if row is None:
                raise DecisionError(
                    f"no decision with this id in workspace {workspace!r}", decision_id=decision_id, field="id"
                )
            if row.outcome is not None:
                raise DecisionError("this decision already has an outcome", decision_id=decision_id, field="id")
            updated = replace(_record(row), outcome=outcome, outcome_at=at)
            label = updated.label()
            entry = self._append(conn, replace(audit, record=updated.sealed_outcome(label)))
            values = {"outcome": outcome.to_dict(), "outcome_at": at.astimezone(UTC), "label": label}
            conn.execute(update(_DECISIONS).where(*where).values(**values, outcome_seq=entry.seq))
            if label is not None:
                for area in updated.areas():
                    self._count_area(conn, workspace, area, failed=label)
        return replace(updated, outcome_seq=entry.seq)

    def _count_area(self, conn: Connection, workspace: str, area: str, *, failed: bool) -> None:
        values = {"workspace": workspace, "area": area, "successes": int(not failed), "failures": int(failed)}
        stmt = (sqlite.insert(_AREAS) if self._sqlite else postgresql.insert(_AREAS)).values(**values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace", "area"],
                set_={
                    "successes": _AREAS.c.successes + stmt.excluded.successes,
                    "failures": _AREAS.c.failures + stmt.excluded.failures,
                },
            )
        )

    # --- what the controller reads -------------------------------------------------------------

    def type_stats(self, workspace: str, decision_type: str) -> TypeStats:
        d = _DECISIONS
        mine = (d.c.workspace == workspace, d.c.type == decision_type)
        totals = select(
            func.count(),
            func.coalesce(func.sum(case((d.c.label.is_(False), 1), else_=0)), 0),
            func.coalesce(func.sum(case((d.c.label.is_(True), 1), else_=0)), 0),
            func.coalesce(func.max(d.c.record_count), 0),
            func.coalesce(func.max(d.c.estimated_cost), 0.0),
        ).where(*mine)
        by_env = select(d.c.environment, func.count()).where(*mine).group_by(d.c.environment)
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            count, successes, failures, max_records, max_cost = conn.execute(totals).one()
            environments: dict[str | None, int] = {row[0]: row[1] for row in conn.execute(by_env)}
        return TypeStats(
            successes=int(successes),
            failures=int(failures),
            decisions=int(count),
            by_environment=environments,
            max_record_count=int(max_records),
            max_estimated_cost=float(max_cost),
        )

    def area_stats(self, workspace: str, areas: Sequence[str]) -> Mapping[str, AreaStats]:
        if not areas:
            return {}
        query = select(_AREAS.c.area, _AREAS.c.successes, _AREAS.c.failures).where(
            _AREAS.c.workspace == workspace, _AREAS.c.area.in_(list(areas))
        )
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            return {r.area: AreaStats(r.successes, r.failures) for r in conn.execute(query)}

    def decision_count(self, workspace: str) -> int:
        query = select(func.count()).select_from(_DECISIONS).where(_DECISIONS.c.workspace == workspace)
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            return int(conn.execute(query).scalar_one())

    def decisions(self, workspace: str, *, since: datetime | None = None) -> list[DecisionRecord]:
        query = select(_DECISIONS).where(_DECISIONS.c.workspace == workspace)
        if since is not None:
            query = query.where(_DECISIONS.c.at >= since.astimezone(UTC))
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            return [_record(r) for r in conn.execute(query.order_by(_DECISIONS.c.id))]

    # --- learned state -------------------------------------------------------------------------

    def offsets(self, workspace: str) -> Mapping[str, float]:
        query = select(_OFFSETS.c.key, _OFFSETS.c.value).where(_OFFSETS.c.workspace == workspace)
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            return {r.key: r.value for r in conn.execute(query)}

    def shift_offset(self, workspace: str, key: str, delta: float, *, low: float, high: float) -> float:
        start = min(max(delta, low), high)
        clamp = (func.min, func.max) if self._sqlite else (func.least, func.greatest)
        stmt = (sqlite.insert(_OFFSETS) if self._sqlite else postgresql.insert(_OFFSETS)).values(
            workspace=workspace, key=key, value=start
        )
        moved = clamp[0](clamp[1](_OFFSETS.c.value + delta, low), high)
        stmt = stmt.on_conflict_do_update(index_elements=["workspace", "key"], set_={"value": moved})
        with transaction(self.engine, what=_WHAT) as conn:
            return float(conn.execute(stmt.returning(_OFFSETS.c.value)).scalar_one())

    def calibration(self, workspace: str) -> CalibrationRecord | None:
        found = self._calibrations(workspace, limit=1)
        return found[0] if found else None

    def calibrations(self, workspace: str) -> list[CalibrationRecord]:
        return self._calibrations(workspace)

    def _calibrations(self, workspace: str, *, limit: int | None = None) -> list[CalibrationRecord]:
        query = (
            select(_CALIBRATIONS)
            .where(_CALIBRATIONS.c.workspace == workspace)
            .order_by(_CALIBRATIONS.c.created_at.desc(), _CALIBRATIONS.c.id.desc())
            .limit(limit)
        )
        with transaction(self.engine, write=False, what=_WHAT) as conn:
            return [_calibration(row) for row in conn.execute(query)]

    def save_calibration(self, workspace: str, record: CalibrationRecord, audit: AuditDraft | None = None) -> None:
        with transaction(self.engine, what=_WHAT) as conn:
            entry = self._append(conn, replace(audit, record=record.sealed())) if audit is not None else None
            conn.execute(
                _CALIBRATIONS.insert().values(
                    id=record.id,
                    workspace=workspace,
                    created_at=record.created_at.astimezone(UTC),
                    body=record.to_dict(),
                    audit_seq=entry.seq if entry else None,
                )
            )

    def remove_calibration(self, workspace: str, calibration_id: str, audit: AuditDraft) -> CalibrationRecord:
        where = (_CALIBRATIONS.c.workspace == workspace, _CALIBRATIONS.c.id == calibration_id)
        with transaction(self.engine, what=_WHAT) as conn:
            query = select(_CALIBRATIONS).where(*where)
            row = conn.execute(query if self._sqlite else query.with_for_update()).one_or_none()
            if row is None:
                raise CalibrationNotFoundError(calibration_id, workspace=workspace)
            self._append(conn, replace(audit, record={"id": calibration_id}))
            conn.execute(delete(_CALIBRATIONS).where(*where))
        return _calibration(row)
