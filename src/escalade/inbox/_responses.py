"""A person's answer to an inbox item (seed 004 §8), checked before anything changes.

=========================  ===================================================  =====================
action                     needs                                                the item becomes
=========================  ===================================================  =====================
``approve``                                                                     answered
``approve_with_conditions``  ``conditions`` (what must hold while it is done)   answered
``modify``                 ``parameters`` (what to change before it is done)    answered
``reject``                 (``feedback`` says why, best)                        answered
``delegate``               ``to`` (a person, or ``role:<name>``)                delegated, to them
``defer``                  ``until`` (a time after now)                         deferred until then
=========================  ===================================================  =====================

Every answer names who gives it (``by``) and may carry free-text ``feedback``. :func:`check_answer`
refuses, with an :class:`~escalade.exceptions.InboxError` that names the item and why, an item
already answered or expired, a person who may not answer it, and a deferral into the past, past a
year or past the item's deadline; the caller then changes nothing. ``by`` names a person, never a
``role:``; a modification's ``parameters`` nest at most 8 deep and take at most 16 KiB as JSON.
:func:`outcome_of` is what the answer tells the escalation engine's learning (a delegation or a
deferral tells it nothing yet; a conditional approval counts as a modification). A
:class:`BatchAnswer` answers many items at once, with per-item exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from escalade.autonomy import Outcome
from escalade.exceptions import InboxError
from escalade.inbox._items import MAX_NAME, InboxItem, InboxState, check_name, check_person

__all__ = ["Action", "BatchAnswer", "InboxAnswer", "check_answer", "outcome_of", "parse_answer"]

Action = Literal["approve", "approve_with_conditions", "modify", "reject", "delegate", "defer"]
#: Longest free-text feedback, condition or parameter value kept.
MAX_TEXT = 4000


#: Deepest nesting and largest JSON size of a modification's ``parameters``.
MAX_PARAMETER_DEPTH, MAX_PARAMETER_BYTES = 8, 16_384
#: Longest a deferral may last.
MAX_DEFER = timedelta(days=366)


def _person(value: str) -> str:
    return check_person(value, what="by")


def _recipient(value: str | None) -> str | None:
    return None if value is None else check_name(value, what="to")


def _depth(value: object, level: int = 1) -> int:
    if level > MAX_PARAMETER_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)


def _bounded(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if _depth(value) > MAX_PARAMETER_DEPTH:
        raise ValueError(f"nests deeper than {MAX_PARAMETER_DEPTH} levels")
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError):
        raise ValueError("must be plain JSON (no NaN or infinity)") from None
    if size > MAX_PARAMETER_BYTES:
        raise ValueError(f"is {size:,} bytes as JSON; at most {MAX_PARAMETER_BYTES:,}")
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone (for example 2026-12-01T09:00:00Z)")
    return value


class InboxAnswer(BaseModel):
    """One answer (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    action: Action
    by: Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_person)]
    parameters: Annotated[dict[str, Any] | None, Field(max_length=100), AfterValidator(_bounded)] = None
    conditions: tuple[Annotated[str, Field(min_length=1, max_length=MAX_TEXT)], ...] = Field(default=(), max_length=50)
    to: Annotated[str | None, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_recipient)] = None
    until: Annotated[datetime | None, AfterValidator(_aware)] = None
    feedback: str | None = Field(default=None, max_length=MAX_TEXT)

    @model_validator(mode="after")
    def _needs(self) -> InboxAnswer:
        needed = {"modify": "parameters", "approve_with_conditions": "conditions", "delegate": "to", "defer": "until"}
        wanted = needed.get(self.action)
        if wanted is not None and not getattr(self, wanted):
            raise ValueError(f"{self.action!r} needs {wanted!r}")
        for name, action in (("parameters", "modify"), ("to", "delegate"), ("until", "defer")):
            if getattr(self, name) and self.action != action:
                raise ValueError(f"{name!r} goes with {action!r}, not {self.action!r}")
        if self.conditions and self.action != "approve_with_conditions":
            raise ValueError(f"'conditions' goes with 'approve_with_conditions', not {self.action!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the fields not given."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"action": self.action}


class BatchAnswer(BaseModel):
    """One answer for many items (``items``: their ids), except those in ``exceptions`` (by id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = Field(min_length=1, max_length=500)
    answer: InboxAnswer
    exceptions: dict[str, InboxAnswer] = Field(default_factory=dict, max_length=500)

    @model_validator(mode="after")
    def _known(self) -> BatchAnswer:
        unknown = sorted(set(self.exceptions) - set(self.items))
        if unknown:
            raise ValueError(f"exceptions name items not in the batch: {', '.join(unknown[:5])}")
        return self

    def answers(self) -> list[tuple[str, InboxAnswer]]:
        """``(item id, its answer)`` for every item, the exceptions' own answers where given."""
        return [(item, self.exceptions.get(item, self.answer)) for item in dict.fromkeys(self.items)]


def parse_answer(data: Mapping[str, Any]) -> InboxAnswer:
    """An :class:`InboxAnswer` from JSON, or an :class:`InboxError` naming the first bad field."""
    try:
        return InboxAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise InboxError(first["msg"], field=where) from None


def check_answer(item: InboxItem, answer: InboxAnswer, *, now: datetime, roles: tuple[str, ...] = ()) -> None:
    """Nothing if ``answer`` may be given to ``item`` at ``now``; else an :class:`InboxError` saying why."""
    if item.state is InboxState.ANSWERED:
        raise InboxError(f"it was answered already, by {item.answered_by!r}", item_id=item.id)
    if item.state is InboxState.EXPIRED or item.expired_at(now):
        raise InboxError("its deadline has passed: it expired unanswered", item_id=item.id)
    if not item.may_answer(answer.by, roles):
        raise InboxError(f"{answer.by!r} may not answer it (it is for {', '.join(item.assignees)})", item_id=item.id)
    if answer.action == "defer" and answer.until is not None:
        if answer.until <= now:
            raise InboxError("a deferral must be until a time after now", item_id=item.id, field="until")
        if answer.until > now + MAX_DEFER or (item.expires_at is not None and answer.until >= item.expires_at):
            raise InboxError(
                "a deferral must end within a year and before the item's deadline", item_id=item.id, field="until"
            )


def outcome_of(item: InboxItem, answer: InboxAnswer, *, now: datetime) -> Outcome | None:
    """What ``answer`` tells the engine about the decision (``None``: a delegation or a deferral, which
    answer nothing yet; the answer that follows them does)."""
    if answer.action in ("delegate", "defer"):
        return None
    response = {"approve": "approve", "approve_with_conditions": "modify", "modify": "modify", "reject": "reject"}
    waited = max(0.0, (now - item.created_at.astimezone(UTC)).total_seconds())
    note = "; ".join(p for p in (", ".join(answer.conditions), answer.feedback or "") if p) or None
    return Outcome(
        response=response[answer.action],  # type: ignore[arg-type]  # one of the engine's Response values
        response_time_s=waited,
        note=note[:2000] if note else None,
    )
