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

:class:`AutonomyStore` is the storage interface; :class:`~escalade.autonomy._memory.MemoryAutonomyStore`
keeps everything in one process (tests, notebooks), :class:`escalade.store._autonomy.SqlAutonomyStore`
in the database. Each row's material fields (:meth:`DecisionRecord.sealed`, ...) are what its audit
entry records and what :func:`escalade.autonomy._trail.verify_trail` compares the tables with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from escalade.autonomy._audit import AuditDraft, AuditEntry, AuditSnapshot
from escalade.autonomy._decisions import MAX_ID, MAX_WORKSPACE, check_text
from escalade.exceptions import DecisionError

__all__ = [
    "MAX_AREA",
    "QUICK_RESPONSE_S",
    "AreaStats",
    "AuditDraft",
    "AutonomyStore",
    "CalibrationRecord",
    "DecisionRecord",
    "Outcome",
    "Response",
    "TypeStats",
    "Verdict",
    "area_keys",
    "parse_outcome",
]

Response = Literal["approve", "reject", "modify", "defer"]
Verdict = Literal["missed", "correct", "unnecessary", "necessary", "approved"]
Recommendation = Literal["approve", "reject"]

#: An approval this fast (seconds) of what was recommended means the question was not needed.
QUICK_RESPONSE_S = 60.0
#: Longest familiarity key (``file:<path>`` or ``system:<name>``) kept.
MAX_AREA = 600


def area_keys(files: Sequence[str], systems: Sequence[str]) -> tuple[str, ...]:
    """The familiarity keys of the files and systems a decision touched."""
    return tuple(f"file:{f}"[:MAX_AREA] for f in files) + tuple(f"system:{s}"[:MAX_AREA] for s in systems)


def _utc_text(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


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
    #: Position of the outcome's entry in the audit trail.
    outcome_seq: int | None = None

    def sealed(self) -> dict[str, Any]:
        """The decision's material fields as its audit entry records them (JSON-ready, time in UTC)."""
        return {
            "at": _utc_text(self.at),
            "agent": self.agent,
            "profile": self.profile,
            "type": self.type,
            "environment": self.environment,
            "escalated": self.escalated,
            "risk_accepted": self.risk_accepted,
            "confidence": self.confidence,
            "threshold": self.threshold,
            "priority": self.priority,
            "rule_hits": list(self.rule_hits),
            "forced": self.forced,
            "recommendation": self.recommendation,
            "affected_files": list(self.affected_files),
            "affected_systems": list(self.affected_systems),
            "record_count": self.record_count,
            "estimated_cost": self.estimated_cost,
            "sampled": self.sampled,
        }

    def sealed_outcome(self, label: bool | None) -> dict[str, Any]:
        """The outcome's material fields as its audit entry records them; ``label`` as the store keeps it."""
        outcome = self.outcome.to_dict() if self.outcome is not None else None
        return {"outcome": outcome, "outcome_at": _utc_text(self.outcome_at), "label": label}

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
        return area_keys(self.affected_files, self.affected_systems)


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

    def sealed(self) -> dict[str, Any]:
        """The calibration's material fields as its audit entry records them (time in UTC)."""
        return {**self.to_dict(), "created_at": _utc_text(self.created_at)}


class AutonomyStore(Protocol):
    """Where decisions, outcomes, learned state and the audit trail live (memory, SQLite or PostgreSQL).

    A decision and its audit entry are stored together or not at all; so are an outcome and its entry.
    """

    def add_decision(self, record: DecisionRecord, audit: AuditDraft) -> DecisionRecord:
        """Store a new decision with its audit entry (``audit_seq`` filled in, its ``record`` sealed).

        A decision id already used in the workspace is a :class:`DecisionError` and stores nothing.
        Appending with a key that does not fit the trail is an :class:`AuditKeyError` (nothing stored).
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

    def type_stats(self, workspace: str, decision_type: str) -> TypeStats: ...
    def area_stats(self, workspace: str, areas: Sequence[str]) -> Mapping[str, AreaStats]: ...
    def decision_count(self, workspace: str) -> int: ...
    def decisions(self, workspace: str, *, since: datetime | None = None) -> list[DecisionRecord]:
        """The workspace's decisions, oldest first."""

    def offsets(self, workspace: str) -> Mapping[str, float]:
        """Learned threshold offsets: ``type:<type>`` (learning) and ``rate:<profile>`` (rate control)."""

    def shift_offset(self, workspace: str, key: str, delta: float, *, low: float, high: float) -> float:
        """Atomically add ``delta`` to an offset, clamped to ``[low, high]``; returns the new value."""

    def calibration(self, workspace: str) -> CalibrationRecord | None:
        """The calibration in force: the newest by creation time (``None`` when there is none)."""

    def calibrations(self, workspace: str) -> list[CalibrationRecord]:
        """The workspace's calibrations, newest (the one in force) first."""

    def save_calibration(self, workspace: str, record: CalibrationRecord, audit: AuditDraft | None = None) -> None:
        """Store a calibration, with its audit entry in the same transaction when ``audit`` is given."""

    def remove_calibration(self, workspace: str, calibration_id: str, audit: AuditDraft) -> CalibrationRecord:
        """Remove a calibration with its audit entry; an unknown id is :class:`CalibrationNotFoundError`."""

    def audit_snapshot(self) -> AuditSnapshot:
        """The trail, its head, the highest reference and every row it vouches for, read at one instant."""
