"""What an agent proposes to do (a :class:`Decision`) and the situation it proposes it in.

A decision is validated strictly: an unknown field, a wrong type or an out-of-range value is a
:class:`~escalade.exceptions.DecisionError` naming the decision's ``id`` and the field. Fields left
out (``None``) are *not stated*: the classifier infers them from the description and says so,
which is different from the caller stating ``False``.

>>> d = parse_decision({"id": "d1", "description": "Ship v2.3 to the live cluster", "record_count": 0})
>>> d.id, d.type, d.environment
('d1', None, None)
>>> parse_decision({"description": "x", "colour": "blue"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
escalade.exceptions.DecisionError: field 'colour': unknown field; the fields are affected_files, ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from escalade.exceptions import ConfigError, DecisionError

__all__ = [
    "CallerFactors",
    "Decision",
    "DecisionContext",
    "DecisionType",
    "Environment",
    "Priority",
    "Scope",
    "parse_decision",
]


class DecisionType(StrEnum):
    """What kind of action a decision is."""

    DEPLOYMENT = "deployment"
    ARCHITECTURE = "architecture"
    SECURITY = "security"
    DATA = "data"
    CONFIGURATION = "configuration"
    RESOURCE = "resource"
    INTEGRATION = "integration"
    MAINTENANCE = "maintenance"
    FIX = "fix"
    GENERAL = "general"


class Environment(StrEnum):
    """Where the action takes effect."""

    PRODUCTION = "production"
    STAGING = "staging"
    DEVELOPMENT = "development"


class Scope(StrEnum):
    """How far the action reaches."""

    LOCAL = "local"
    COMPONENT = "component"
    SYSTEM_WIDE = "system-wide"


class Priority(StrEnum):
    """How urgently a person should look at an escalated decision (ordered: ``Priority.LOW < Priority.HIGH``)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ``low`` up to 3 for ``critical``."""
        return _PRIORITY_ORDER.index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank >= other.rank


_PRIORITY_ORDER = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL)

_ALIASES = {
    "environment": {
        "prod": "production",
        "prd": "production",
        "live": "production",
        "stage": "staging",
        "dev": "development",
        "local": "development",
        "test": "development",
    },
    "scope": {
        "system_wide": "system-wide",
        "system wide": "system-wide",
        "systemwide": "system-wide",
        "global": "system-wide",
    },
}


def _alias(field: str) -> BeforeValidator:
    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return _ALIASES[field].get(lowered, lowered)
        return value

    return BeforeValidator(normalise)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, strict=True)]

#: Longest affected file path or system name (what the store can index).
MAX_NAME = 500
#: Longest workspace name.
MAX_WORKSPACE = 100
#: Longest agent name, workflow id and decision id.
MAX_ID = 200


def check_text(value: str, *, max_length: int) -> str:
    """``value`` if it is storable text: no NUL character (PostgreSQL refuses it) and not too long."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    if len(value) > max_length:
        raise ValueError(f"at most {max_length:,} characters, got {len(value):,}")
    return value


class CallerFactors(BaseModel):
    """Confidence factors the caller states about its own decision (each in [0, 1]).

    They are never taken as they are: the controller marks them ``caller`` and, by default, uses
    one only where it makes the decision more cautious than the trusted value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    past_success_rate: Unit | None = None
    familiarity: Unit | None = None
    risk: Unit | None = None
    complexity: Unit | None = None


class Decision(BaseModel):
    """An action an agent proposes; ``None`` fields are not stated (the classifier infers them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    #: The caller's id for the decision (echoed back; used to record its outcome later).
    id: str | None = Field(default=None, min_length=1, max_length=MAX_ID)
    #: What the agent wants to do, in words.
    description: str = Field(min_length=1, max_length=20_000)
    type: Annotated[DecisionType | None, BeforeValidator(_lower)] = None
    environment: Annotated[Environment | None, _alias("environment")] = None
    affected_files: tuple[str, ...] = ()
    affected_systems: tuple[str, ...] = ()
    #: Money the action itself will cost, in USD.
    estimated_cost: float | None = Field(default=None, ge=0.0, le=1e12, allow_inf_nan=False, strict=True)
    #: Records (rows, users, documents) the action touches.
    record_count: int | None = Field(default=None, ge=0, le=10**15, strict=True)
    involves_data_deletion: bool | None = Field(default=None, strict=True)
    breaking_change: bool | None = Field(default=None, strict=True)
    affects_compliance: bool | None = Field(default=None, strict=True)
    #: Expected change in performance, in percent; negative is worse (``-30``: 30 % slower).
    performance_impact: float | None = Field(default=None, ge=-100.0, le=1e6, allow_inf_nan=False, strict=True)
    reversible: bool | None = Field(default=None, strict=True)
    scope: Annotated[Scope | None, _alias("scope")] = None
    confidence_factors: CallerFactors | None = None

    @field_validator("id", "description")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, max_length=20_000)

    @field_validator("affected_files", "affected_systems")
    @classmethod
    def _no_blank_entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(v.strip() for v in value)
        if any(not v for v in cleaned):
            raise ValueError("entries must be non-empty strings")
        if len(cleaned) > 10_000:
            raise ValueError("at most 10,000 entries")
        for entry in cleaned:
            check_text(entry, max_length=MAX_NAME)
        return cleaned

    def stated(self) -> dict[str, Any]:
        """The fields the caller stated, as JSON-ready values."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


@dataclass(frozen=True, kw_only=True)
class DecisionContext:
    """Where and when a decision is made (none of it is trusted evidence about the decision itself)."""

    #: Whose history, thresholds and audit trail the decision belongs to.
    workspace: str = "default"
    #: The agent proposing the action (recorded, and used for per-agent history when set).
    agent: str | None = None
    #: Groups related decisions for batching (a workflow, a pull request, a ticket).
    workflow_id: str | None = None
    #: Repository root: with it, the affected Python files are read for their cyclomatic complexity.
    root: Path | None = None
    #: Decision time (default: now, UTC).
    now: datetime | None = None

    def __post_init__(self) -> None:
        limits = {"workspace": MAX_WORKSPACE, "agent": MAX_ID, "workflow_id": MAX_ID}
        for name, limit in limits.items():
            value = getattr(self, name)
            if value is None:
                continue
            try:
                if not isinstance(value, str) or not value.strip():
                    raise ValueError("must be a non-empty string")
                check_text(value, max_length=limit)
            except ValueError as exc:
                raise ConfigError(f"{name} {str(value)[:60]!r}: {exc}", field=name) from None


_FIELDS = tuple(sorted(Decision.model_fields))


def _field_of(error: Mapping[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
    return ".".join(loc) or "decision"


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        known = _FIELDS if "." not in _field_of(error) else tuple(sorted(CallerFactors.model_fields))
        return f"unknown field; the fields are {', '.join(known)}"
    if error.get("type") == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"got {error.get('input')!r}; use {expected}"
    if error.get("type") == "missing":
        return "is required"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def parse_decision(data: Mapping[str, Any] | Decision) -> Decision:
    """A :class:`Decision` from a mapping (e.g. one JSON line); errors name the decision id and field."""
    if isinstance(data, Decision):
        return data
    if not isinstance(data, Mapping):
        raise DecisionError(f"a decision must be a JSON object, got {type(data).__name__}")
    raw_id = data.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool) and abs(raw_id) >= 10**MAX_ID:
        raise DecisionError(f"an integer id has at most {MAX_ID} digits", field="id")
    decision_id = str(raw_id)[:MAX_ID] if raw_id is not None else None
    if isinstance(raw_id, bool) or (raw_id is not None and not isinstance(raw_id, str | int)):
        raise DecisionError("must be a string or an integer", decision_id=decision_id, field="id")
    values = dict(data)
    if isinstance(raw_id, int):
        values["id"] = str(raw_id)
    for key in ("estimated_cost", "performance_impact"):
        value = values.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            raise DecisionError("must be a finite number", decision_id=decision_id, field=key)
    try:
        return Decision.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DecisionError(_message(first), decision_id=decision_id, field=_field_of(first)) from None
