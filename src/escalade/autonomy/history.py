"""Decision history: what was decided, what happened afterwards, and the state learned from it.

Every evaluated decision is kept as a :class:`DecisionRecord`. Its :class:`Outcome` comes later:
for an action that proceeded, whether it succeeded (and whether a person thinks it should have been
asked about); for an escalated one, the person's response and how long they took. From that record
come:

- its **label**: would acting autonomously have been an error? (``None`` while unknown);
- its **verdict**: ``missed`` (proceeded but should not have), ``correct`` (proceeded and fine),
  ``unnecessary`` (escalated, and the person quickly approved what was recommended), ``necessary``
  (escalated and the person rejected or changed it), ``approved`` (approved, but not quickly);
- per type, the **past success rate** and how familiar the type and the files/systems are.

:class:`AutonomyStore` is the storage interface; :class:`MemoryAutonomyStore` keeps everything in one
process (tests, notebooks), :class:`escalade.store.autonomy.SqlAutonomyStore` in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from escalade.autonomy.audit import GENESIS, AuditEntry, AuditHead, audit_key, make_entry
from escalade.autonomy.decisions import MAX_ID, MAX_WORKSPACE, check_text
from escalade.exceptions import DecisionError

__all__ = [
    "QUICK_RESPONSE_S",
    "AreaStats",
    "AuditDraft",
    "AutonomyStore",
    "CalibrationRecord",
    "DecisionRecord",
    "MemoryAutonomyStore",
    "Outcome",
    "Response",
    "TypeStats",
    "Verdict",
    "parse_outcome",
]

Response = Literal["approve", "reject", "modify", "defer"]
Verdict = Literal["missed", "correct", "unnecessary", "necessary", "approved"]
Recommendation = Literal["approve", "reject"]

#: An approval this fast (seconds) of what was recommended means the question was not needed.
QUICK_RESPONSE_S = 60.0


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What happened after a decision (see the module docstring)."""

    #: The action was carried out and went well (``False``: it failed or had to be undone).
    success: bool | None = None
    #: A person's answer to an escalated decision.
    response: Response | None = None
    #: How long the person took to answer, in seconds.
    response_time_s: float | None = None
    #: A person's later judgement of whether this decision should have been escalated.
    should_have_escalated: bool | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class _OutcomeInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | Annotated[int, Field(strict=True, lt=10**MAX_ID, gt=-(10**MAX_ID))]
    workspace: str | None = None
    success: bool | None = Field(default=None, strict=True)
    response: Response | None = None
    response_time_s: float | None = Field(default=None, ge=0, allow_inf_nan=False, strict=True)
    should_have_escalated: bool | None = Field(default=None, strict=True)
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("id", "workspace", "note")
    @classmethod
    def _storable(cls, value: str | int | None, info: ValidationInfo) -> str | int | None:
        if not isinstance(value, str):
            return value
        limits = {"id": MAX_ID, "workspace": MAX_WORKSPACE, "note": 2000}
        return check_text(value, max_length=limits[str(info.field_name)])


def parse_outcome(data: Mapping[str, Any]) -> tuple[str, str | None, Outcome]:
    """``(decision id, workspace or None, outcome)`` from a mapping; errors name the decision and field."""
    if not isinstance(data, Mapping):
        raise DecisionError(f"an outcome must be a JSON object, got {type(data).__name__}")
    raw_id = data.get("id")
    try:
        parsed = _OutcomeInput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "outcome"
        message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        if where == "id" and first["type"] != "value_error":
            message = f"must be a string or an integer of at most {MAX_ID} digits"
        short = isinstance(raw_id, str) or (isinstance(raw_id, int) and abs(raw_id) < 10**MAX_ID)
        shown = str(raw_id)[:MAX_ID] if short else None
        raise DecisionError(message, decision_id=shown, field=where) from None
    values = parsed.model_dump(exclude={"id", "workspace"})
    if all(v is None for k, v in values.items() if k != "note"):
        raise DecisionError(
            "an outcome needs success, response or should_have_escalated", decision_id=str(parsed.id), field="outcome"
        )
    return str(parsed.id), parsed.workspace, Outcome(**values)


@dataclass(frozen=True, kw_only=True)
class DecisionRecord:
    """One evaluated decision as stored (its outcome arrives later)."""

    workspace: str
    decision_id: str
    at: datetime
    agent: str | None
    profile: str
    type: str
    environment: str | None
    escalated: bool
    risk_accepted: bool
    confidence: float
    threshold: float
    priority: str
    rule_hits: tuple[str, ...]
    #: Escalated whatever its confidence (profile, rule or criticality), not for low confidence or the calibration.
    forced: bool
    #: What the engine recommended a person do with an escalated decision.
    recommendation: Recommendation
    affected_files: tuple[str, ...] = ()
    affected_systems: tuple[str, ...] = ()
    record_count: int = 0
    estimated_cost: float = 0.0
    #: Drawn for the unbiased audit sample (its outcome should be checked by a person).
    sampled: bool = False
    #: Position of the decision's entry in the audit trail.
    audit_seq: int | None = None
    outcome: Outcome | None = None
    outcome_at: datetime | None = None

    def label(self) -> bool | None:
        """Would acting autonomously have been an error? ``None`` while unknown."""
        o = self.outcome
        if o is None:
            return None
        if o.should_have_escalated is not None:
            return o.should_have_escalated
        if not self.escalated:
            return None if o.success is None else not o.success
        if o.response in ("reject", "modify"):
            return True
        if o.response == "approve":
            return False if o.success is None else not o.success
        return None

    def verdict(self, quick_s: float = QUICK_RESPONSE_S) -> Verdict | None:
        """Was the escalation (or its absence) right? See the module docstring."""
        error = self.label()
        if error is None:
            return None
        if not self.escalated:
            return "missed" if error else "correct"
        if error:
            return "necessary"
        o = self.outcome
        assert o is not None
        quick = o.response_time_s is not None and o.response_time_s <= quick_s
        as_recommended = o.response == "approve" and self.recommendation == "approve"
        if o.should_have_escalated is False or (as_recommended and quick):
            return "unnecessary"
        return "approved"

    def areas(self) -> tuple[str, ...]:
        """The files and systems the decision touched, as familiarity keys."""
        return tuple(f"file:{f}" for f in self.affected_files) + tuple(f"system:{s}" for s in self.affected_systems)


@dataclass(frozen=True)
class TypeStats:
    """What a workspace's history says about one decision type."""

    #: Labelled decisions where the agent's proposed action was right / was an error.
    successes: int = 0
    failures: int = 0
    #: Decisions of this type evaluated so far, and by environment (``None`` key: unknown).
    decisions: int = 0
    by_environment: Mapping[str | None, int] = field(default_factory=dict)
    max_record_count: int = 0
    max_estimated_cost: float = 0.0


@dataclass(frozen=True)
class AreaStats:
    """Labelled outcomes of decisions that touched a file or system."""

    successes: int = 0
    failures: int = 0


@dataclass(frozen=True, kw_only=True)
class CalibrationRecord:
    """Certified confidence floors per decision type, and what they were certified on."""

    id: str
    created_at: datetime
    alpha: float
    delta: float
    #: Per type: the floor (``None``: no threshold certifies, escalate every decision of the type).
    floors: Mapping[str, float | None]
    #: Per type: labelled decisions used.
    labelled: Mapping[str, int]
    #: Per type: how the floor came about (one line each).
    messages: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "alpha": self.alpha,
            "delta": self.delta,
            "floors": dict(self.floors),
            "labelled": dict(self.labelled),
            "messages": dict(self.messages),
        }


@dataclass(frozen=True, kw_only=True)
class AuditDraft:
    """An audit entry before the store gives it its place in the chain."""

    at: datetime
    kind: str
    workspace: str
    decision_id: str | None
    payload: Mapping[str, Any]

    def after(self, head: AuditHead | None, key: bytes | None) -> AuditEntry:
        """The entry that follows ``head`` (the chain's start when ``None``)."""
        return make_entry(
            seq=(head.seq if head else 0) + 1,
            previous=head.hash if head else GENESIS,
            at=self.at,
            kind=self.kind,
            workspace=self.workspace,
            decision_id=self.decision_id,
            payload=self.payload,
            key=key,
        )


class AutonomyStore(Protocol):
    """Where decisions, outcomes, learned state and the audit trail live (memory, SQLite or PostgreSQL).

    A decision and its audit entry are stored together or not at all; so are an outcome and its entry.
    """

    def add_decision(self, record: DecisionRecord, audit: AuditDraft) -> DecisionRecord:
        """Store a new decision with its audit entry (``audit_seq`` filled in).

        A decision id already used in the workspace is a :class:`DecisionError` and stores nothing.
        """

    def get_decision(self, workspace: str, decision_id: str) -> DecisionRecord | None: ...

    def set_outcome(
        self, workspace: str, decision_id: str, outcome: Outcome, at: datetime, audit: AuditDraft
    ) -> DecisionRecord:
        """Attach the outcome (once) with its audit entry.

        Unknown ids and second outcomes are :class:`DecisionError`.
        """

    def append_audit(self, audit: AuditDraft) -> AuditEntry: ...
    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > after``, in ``seq`` order."""

    def audit_head(self) -> AuditHead | None: ...
    def highest_audit_reference(self) -> int:
        """The highest audit entry any stored decision, outcome or calibration refers to (0 when none)."""

    def type_stats(self, workspace: str, decision_type: str) -> TypeStats: ...
    def area_stats(self, workspace: str, areas: Sequence[str]) -> Mapping[str, AreaStats]: ...
    def decision_count(self, workspace: str) -> int: ...
    def decisions(self, workspace: str, *, since: datetime | None = None) -> list[DecisionRecord]:
        """The workspace's decisions, oldest first."""

    def offsets(self, workspace: str) -> Mapping[str, float]:
        """Learned threshold offsets: ``type:<type>`` (learning) and ``rate:<profile>`` (rate control)."""

    def shift_offset(self, workspace: str, key: str, delta: float, *, low: float, high: float) -> float:
        """Atomically add ``delta`` to an offset, clamped to ``[low, high]``; returns the new value."""

    def calibration(self, workspace: str) -> CalibrationRecord | None: ...
    def save_calibration(self, workspace: str, record: CalibrationRecord, audit: AuditDraft | None = None) -> None:
        """Store a calibration, with its audit entry in the same transaction when ``audit`` is given."""


class MemoryAutonomyStore:
    """An :class:`AutonomyStore` in one process's memory (thread-safe)."""

    def __init__(self, *, key: bytes | None = None) -> None:
        self._lock = threading.RLock()
        self._decisions: dict[tuple[str, str], DecisionRecord] = {}
        self._order: dict[str, list[str]] = {}
        self._by_type: dict[tuple[str, str], list[str]] = {}
        self._areas: dict[tuple[str, str], list[int]] = {}
        self._offsets: dict[tuple[str, str], float] = {}
        self._calibrations: dict[str, CalibrationRecord] = {}
        self._audit: list[AuditEntry] = []
        self._head: AuditHead | None = None
        self._key = key if key is not None else audit_key()
        self._referenced = 0

    def add_decision(self, record: DecisionRecord, audit: AuditDraft) -> DecisionRecord:
        key = (record.workspace, record.decision_id)
        with self._lock:
            if key in self._decisions:
                raise DecisionError(
                    "this id was already decided in this workspace", decision_id=record.decision_id, field="id"
                )
            entry = self.append_audit(audit)
            self._referenced = max(self._referenced, entry.seq)
            stored = replace(record, audit_seq=entry.seq)
            self._decisions[key] = stored
            self._order.setdefault(record.workspace, []).append(record.decision_id)
            self._by_type.setdefault((record.workspace, record.type), []).append(record.decision_id)
            return stored

    def append_audit(self, audit: AuditDraft) -> AuditEntry:
        with self._lock:
            entry = audit.after(self._head, self._key)
            self._audit.append(entry)
            self._head = AuditHead(entry.seq, entry.hash)
            return entry

    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        found = [e for e in self._audit if e.seq > after]
        return found[:limit] if limit is not None else found

    def audit_head(self) -> AuditHead | None:
        return self._head

    def highest_audit_reference(self) -> int:
        return self._referenced

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
            self._referenced = max(self._referenced, self.append_audit(audit).seq)
            updated = replace(record, outcome=outcome, outcome_at=at)
            self._decisions[(workspace, decision_id)] = updated
            label = updated.label()
            if label is not None:
                for area in updated.areas():
                    self._areas.setdefault((workspace, area), [0, 0])[1 if label else 0] += 1
            return updated

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

    def offsets(self, workspace: str) -> Mapping[str, float]:
        return {k: v for (w, k), v in self._offsets.items() if w == workspace}

    def shift_offset(self, workspace: str, key: str, delta: float, *, low: float, high: float) -> float:
        with self._lock:
            value = min(max(self._offsets.get((workspace, key), 0.0) + delta, low), high)
            self._offsets[(workspace, key)] = value
            return value

    def calibration(self, workspace: str) -> CalibrationRecord | None:
        return self._calibrations.get(workspace)

    def save_calibration(self, workspace: str, record: CalibrationRecord, audit: AuditDraft | None = None) -> None:
        with self._lock:
            if audit is not None:
                self._referenced = max(self._referenced, self.append_audit(audit).seq)
            self._calibrations[workspace] = record
