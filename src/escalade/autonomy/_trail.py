"""The tables checked against the audit trail: every row the readers use must be what its entry recorded.

Statistics, learning and calibration read the tables (decisions, outcomes and their labels,
calibrations, familiarity counts), not the chain. So each entry carries the material fields of the
row it wrote (``record``, see :meth:`~escalade.autonomy._history.DecisionRecord.sealed`), and
:func:`verify_trail` verifies the chain (:func:`~escalade.autonomy._audit.verify_chain`), replaying
each entry as the walk passes it into the rows it vouches for, then compares them with the rows
stored, all read at one instant (:meth:`~escalade.autonomy._history.AutonomyStore.audit_snapshot`):

- every decision row, and its outcome columns, must hold what the entry that wrote it recorded,
  field by field, and refer to that entry;
- every calibration in the table must have been written by an entry and not removed by a later one;
- each file's and system's familiarity counts must be what the labelled outcomes in the chain add up to;
- no row may be missing, and none may be there that no entry wrote.

The first difference (in chain order) is reported with its row and field. Rows written before
entries carried their fields cannot be compared; they are counted (``unchecked_rows``). The learned
threshold offsets are not in the chain (they move with every decision): they are not checked.

>>> from escalade.autonomy._engine import EscalationEngine
>>> from escalade.autonomy._memory import MemoryAutonomyStore
>>> engine = EscalationEngine(MemoryAutonomyStore())
>>> _ = engine.evaluate({"id": "d1", "description": "Fix a typo in the README"})
>>> verify_trail(engine.store, key=None).describe()
'audit trail intact: 1 entries, SHA-256 chain verified; 1 table rows match it'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from escalade.autonomy._audit import AuditEntry, AuditHead, ChainReport, StoredRow, canonical_json, verify_chain
from escalade.autonomy._history import AutonomyStore, area_keys

__all__ = ["verify_trail"]

#: (kind, workspace, key) of a row.
RowKey = tuple[str, str, str]


@dataclass
class _Expected:
    """A row as the chain says it must be."""

    seq: int
    #: ``None``: its entry predates entries carrying their row's fields.
    fields: Mapping[str, Any] | None


@dataclass(frozen=True)
class _Problem:
    seq: int | None
    key: RowKey
    message: str
    field: str | None = None


def _name(key: RowKey) -> str:
    kind, workspace, ident = key
    where = f"in workspace {workspace!r}"
    return {
        "decision": f"decision {ident!r} {where}",
        "outcome": f"the outcome of decision {ident!r} {where}",
        "calibration": f"calibration {ident!r} {where}",
    }.get(kind, f"the familiarity count of {ident!r} {where}")


class _Replay:
    """The rows the chain vouches for, built entry by entry."""

    def __init__(self) -> None:
        self.rows: dict[RowKey, _Expected] = {}
        self.areas: dict[tuple[str, str], tuple[int, list[int]]] = {}
        #: Every decision and outcome entry carries its fields, so familiarity counts can be derived.
        self.complete = True

    def add(self, entry: AuditEntry, body: Mapping[str, Any]) -> None:
        """Take in one entry that checked out, with its parsed body."""
        kind, workspace, record = body.get("kind"), str(body.get("workspace")), body.get("record")
        fields = record if isinstance(record, dict) else None
        if kind in ("decision", "outcome"):
            key = (str(kind), workspace, str(body.get("decision_id")))
            self.rows[key] = _Expected(entry.seq, fields)
            self.complete &= fields is not None
            if kind == "outcome" and fields is not None and fields.get("label") is not None:
                self._count(entry.seq, key, bool(fields["label"]))
        elif kind in ("calibration", "calibration_removed"):
            source = fields if fields is not None else body.get("payload")
            ident = str(source.get("id")) if isinstance(source, dict) else ""
            if kind == "calibration":
                self.rows[("calibration", workspace, ident)] = _Expected(entry.seq, fields)
            else:
                self.rows.pop(("calibration", workspace, ident), None)

    def _count(self, seq: int, key: RowKey, failed: bool) -> None:
        decision = self.rows.get(("decision", key[1], key[2]))
        if decision is None or decision.fields is None:
            self.complete = False
            return
        files, systems = decision.fields.get("affected_files"), decision.fields.get("affected_systems")
        if not isinstance(files, list) or not isinstance(systems, list):
            self.complete = False
            return
        for area in area_keys([str(f) for f in files], [str(s) for s in systems]):
            _, counts = self.areas.get((key[1], area), (seq, [0, 0]))
            counts[1 if failed else 0] += 1
            self.areas[(key[1], area)] = (seq, counts)

    def expected(self) -> dict[RowKey, _Expected]:
        found = dict(self.rows)
        if self.complete:
            for (workspace, area), (seq, (successes, failures)) in self.areas.items():
                found[("area", workspace, area)] = _Expected(seq, {"successes": successes, "failures": failures})
        return found


def _difference(key: RowKey, expected: _Expected, row: StoredRow) -> _Problem | None:
    if row.kind != "area" and row.seq != expected.seq:
        message = (
            f"{_name(key)} refers to audit entry {row.seq}, but entry {expected.seq} wrote it (the table was edited)"
        )
        return _Problem(expected.seq, key, message, "audit_seq" if row.kind != "outcome" else "outcome_seq")
    if expected.fields is None:
        return None
    for field in sorted(set(expected.fields) | set(row.fields)):
        held, recorded = canonical_json(row.fields.get(field)), canonical_json(expected.fields.get(field))
        if held != recorded:
            message = (
                f"{_name(key)}: the table holds {field} = {held}, but its audit entry {expected.seq} recorded"
                f" {recorded} (the table was edited)"
            )
            return _Problem(expected.seq, key, message, field)
    return None


def _compare(
    expected: Mapping[RowKey, _Expected], rows: Sequence[StoredRow], areas: bool
) -> tuple[list[_Problem], int]:
    """Every difference between the rows the chain vouches for and those stored; and rows not compared."""
    stored = {(r.kind, r.workspace, r.key): r for r in rows}
    problems: list[_Problem] = []
    unchecked = 0
    for key, wanted in expected.items():
        row = stored.get(key)
        if row is None:
            message = f"audit entry {wanted.seq} wrote {_name(key)}, but the table has no such row (deleted)"
            problems.append(_Problem(wanted.seq, key, message))
            continue
        unchecked += wanted.fields is None
        found = _difference(key, wanted, row)
        if found is not None:
            problems.append(found)
    for key, row in stored.items():
        if key in expected:
            continue
        if key[0] == "area" and not areas:
            unchecked += 1
            continue
        message = f"{_name(key)} is in the table, but no audit entry wrote it (added behind escalade's back)"
        problems.append(_Problem(row.seq, key, message))
    return problems, unchecked


def check_rows(report: ChainReport, replay: _Replay, rows: Sequence[StoredRow]) -> ChainReport:
    """``report`` (an intact chain) with the tables compared against the rows ``replay`` built from it."""
    problems, unchecked = _compare(replay.expected(), rows, replay.complete)
    if not problems:
        return replace(report, rows=len(rows), unchecked_rows=unchecked)
    first = min(problems, key=lambda p: (p.seq is None, p.seq or 0))
    decision = first.key[2] if first.key[0] in ("decision", "outcome") else None
    return replace(
        report,
        ok=False,
        first_bad_seq=first.seq,
        first_bad_decision=decision,
        problem=first.message,
        cause="tampered",
        rows=len(rows),
        unchecked_rows=unchecked,
        field=first.field,
    )


def verify_trail(store: AutonomyStore, *, key: bytes | None, anchor: AuditHead | None = None) -> ChainReport:
    """Verify the chain, then every row it vouches for (see the module docstring); each entry is parsed once."""
    snapshot = store.audit_snapshot()
    replay = _Replay()
    report = verify_chain(
        snapshot.entries, snapshot.head, key, referenced=snapshot.referenced, anchor=anchor, on_entry=replay.add
    )
    return check_rows(report, replay, snapshot.rows) if report.ok else report
