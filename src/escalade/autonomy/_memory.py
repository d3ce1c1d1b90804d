"""An :class:`~escalade.autonomy._history.AutonomyStore` in one process's memory (tests, notebooks).

>>> from escalade.autonomy._engine import EscalationEngine
>>> store = MemoryAutonomyStore()
>>> EscalationEngine(store).evaluate({"id": "d1", "description": "Fix a typo in the README"}).audit_seq
1
>>> store.get_decision("default", "d1").audit_seq
1
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from escalade.autonomy._audit import (
    AuditDraft,
    AuditEntry,
    AuditHead,
    AuditSnapshot,
    StoredRow,
    audit_key,
    check_append,
)
from escalade.autonomy._history import AreaStats, CalibrationRecord, DecisionRecord, Outcome, TypeStats
from escalade.exceptions import CalibrationNotFoundError, DecisionError

__all__ = ["MemoryAutonomyStore"]


class MemoryAutonomyStore:
    """An :class:`~escalade.autonomy._history.AutonomyStore` in one process's memory (thread-safe)."""

    def __init__(self, *, key: bytes | None = None) -> None:
        self._lock = threading.RLock()
        self._decisions: dict[tuple[str, str], DecisionRecord] = {}
        self._order: dict[str, list[str]] = {}
        self._by_type: dict[tuple[str, str], list[str]] = {}
        self._areas: dict[tuple[str, str], list[int]] = {}
        self._offsets: dict[tuple[str, str], float] = {}
        #: Per workspace, in the order saved: each calibration and its audit entry.
        self._calibrations: dict[str, list[tuple[CalibrationRecord, int | None]]] = {}
        self._audit: list[AuditEntry] = []
        self._head: AuditHead | None = None
        self._key = key if key is not None else audit_key()
        self._referenced = 0

    # --- audit trail -------------------------------------------------------------------------------

    def append_audit(self, audit: AuditDraft) -> AuditEntry:
        with self._lock:
            check_append(self._audit[-1] if self._audit else None, self._key)
            entry = audit.after(self._head, self._key)
            self._audit.append(entry)
            self._head = AuditHead(entry.seq, entry.hash)
            return entry

    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        found = [e for e in self._audit if e.seq > after]
        return found[:limit] if limit is not None else found

    def audit_snapshot(self) -> AuditSnapshot:
        with self._lock:
            rows = []
            for (workspace, decision_id), r in self._decisions.items():
                rows.append(StoredRow("decision", workspace, decision_id, r.audit_seq, r.sealed()))
                if r.outcome is not None:
                    rows.append(
                        StoredRow("outcome", workspace, decision_id, r.outcome_seq, r.sealed_outcome(r.label()))
                    )
            for workspace, saved in self._calibrations.items():
                rows += [StoredRow("calibration", workspace, c.id, seq, c.sealed()) for c, seq in saved]
            for (workspace, area), (successes, failures) in self._areas.items():
                rows.append(StoredRow("area", workspace, area, None, {"successes": successes, "failures": failures}))
            return AuditSnapshot(list(self._audit), self._head, self._referenced, rows)

    def _append_referenced(self, audit: AuditDraft) -> AuditEntry:
        entry = self.append_audit(audit)
        self._referenced = max(self._referenced, entry.seq)
        return entry

    # --- decisions and outcomes ----------------------------------------------------------------

    def add_decision(self, record: DecisionRecord, audit: AuditDraft) -> DecisionRecord:
        key = (record.workspace, record.decision_id)
        with self._lock:
            if key in self._decisions:
                raise DecisionError(
                    "this id was already decided in this workspace", decision_id=record.decision_id, field="id"
                )
            entry = self._append_referenced(replace(audit, record=record.sealed()))
            stored = replace(record, audit_seq=entry.seq)
            self._decisions[key] = stored
            self._order.setdefault(record.workspace, []).append(record.decision_id)
            self._by_type.setdefault((record.workspace, record.type), []).append(record.decision_id)
            return stored

    def get_decision(self, workspace: str, decision_id: str) -> DecisionRecord | None:
        return self._decisions.get((workspace, decision_id))

    def set_outcome(
        self, workspace: str, decision_id: str, outcome: Outcome, at: datetime, audit: AuditDraft
    ) -> DecisionRecord:
        with self._lock:
            record = self._decisions.get((workspace, decision_id))
            if record is None:
                raise DecisionError(
                    f"no decision with this id in workspace {workspace!r}", decision_id=decision_id, field="id"
                )
            if record.outcome is not None:
                raise DecisionError("this decision already has an outcome", decision_id=decision_id, field="id")
            updated = replace(record, outcome=outcome, outcome_at=at)
            label = updated.label()
            entry = self._append_referenced(replace(audit, record=updated.sealed_outcome(label)))
            updated = replace(updated, outcome_seq=entry.seq)
            self._decisions[(workspace, decision_id)] = updated
            if label is not None:
                for area in updated.areas():
                    self._areas.setdefault((workspace, area), [0, 0])[1 if label else 0] += 1
            return updated

    # --- what the controller reads -------------------------------------------------------------

    def _records(self, workspace: str) -> list[DecisionRecord]:
        return [self._decisions[(workspace, i)] for i in self._order.get(workspace, [])]

    def type_stats(self, workspace: str, decision_type: str) -> TypeStats:
        records = [self._decisions[(workspace, i)] for i in self._by_type.get((workspace, decision_type), [])]
        labels = [r.label() for r in records]
        by_env: dict[str | None, int] = {}
        for r in records:
            by_env[r.environment] = by_env.get(r.environment, 0) + 1
        return TypeStats(
            successes=sum(1 for x in labels if x is False),
            failures=sum(1 for x in labels if x is True),
            decisions=len(records),
            by_environment=by_env,
            max_record_count=max((r.record_count for r in records), default=0),
            max_estimated_cost=max((r.estimated_cost for r in records), default=0.0),
        )

    def area_stats(self, workspace: str, areas: Sequence[str]) -> Mapping[str, AreaStats]:
        found = {a: self._areas[(workspace, a)] for a in areas if (workspace, a) in self._areas}
        return {a: AreaStats(successes=c[0], failures=c[1]) for a, c in found.items()}

    def decision_count(self, workspace: str) -> int:
        return len(self._order.get(workspace, []))

    def decisions(self, workspace: str, *, since: datetime | None = None) -> list[DecisionRecord]:
        return [r for r in self._records(workspace) if since is None or r.at >= since]

    # --- learned state -------------------------------------------------------------------------

    def offsets(self, workspace: str) -> Mapping[str, float]:
        return {k: v for (w, k), v in self._offsets.items() if w == workspace}

    def shift_offset(self, workspace: str, key: str, delta: float, *, low: float, high: float) -> float:
        with self._lock:
            value = min(max(self._offsets.get((workspace, key), 0.0) + delta, low), high)
            self._offsets[(workspace, key)] = value
            return value

    def calibration(self, workspace: str) -> CalibrationRecord | None:
        found = self.calibrations(workspace)
        return found[0] if found else None

    def calibrations(self, workspace: str) -> list[CalibrationRecord]:
        saved = list(enumerate(self._calibrations.get(workspace, [])))
        saved.sort(key=lambda item: (item[1][0].created_at, item[0]), reverse=True)  # newest; ties: last saved
        return [record for _, (record, _) in saved]

    def save_calibration(self, workspace: str, record: CalibrationRecord, audit: AuditDraft | None = None) -> None:
        with self._lock:
            entry = self._append_referenced(replace(audit, record=record.sealed())) if audit is not None else None
            self._calibrations.setdefault(workspace, []).append((record, entry.seq if entry else None))

    def remove_calibration(self, workspace: str, calibration_id: str, audit: AuditDraft) -> CalibrationRecord:
        with self._lock:
            saved = self._calibrations.get(workspace, [])
            found = [i for i, (record, _) in enumerate(saved) if record.id == calibration_id]
            if not found:
                raise CalibrationNotFoundError(calibration_id, workspace=workspace)
            self.append_audit(replace(audit, record={"id": calibration_id}))
            return saved.pop(found[0])[0]
