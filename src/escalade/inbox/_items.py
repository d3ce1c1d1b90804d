"""Inbox items: an escalated decision waiting for a person, with who may answer it and by when.

An item is made from the engine's :class:`~escalade.autonomy.EscalationResult` and the decision it
judged (:func:`new_item`). It keeps what a person needs to answer (the description, type,
priority, reasons, the rules that fired, the engine's recommendation, the files and systems
touched) and where it is in its life:

=============  ===========================================================================
``pending``    waiting to be sent (held for a batch, or for the person to be available)
``batched``    put in a batch that is about to be sent
``sent``       in front of a person (a notification, the web inbox)
``deferred``   a person asked to see it again later (``not_before``)
``delegated``  handed to another person or role (``assignees`` is now them)
``answered``   a person answered it: final
``expired``    its deadline passed unanswered: final
=============  ===========================================================================

Who may answer: ``assignees`` lists people (``ana``) and roles (``role:sre``); empty means anyone
of the workspace. An item whose decision a rule forced (``forced``) is never approved on a learned
preference, only by a person.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from escalade.autonomy import Decision, DecisionType, EscalationResult, Priority
from escalade.exceptions import InboxError

__all__ = ["FINAL_STATES", "OPEN_STATES", "ROLE_PREFIX", "InboxItem", "InboxState", "check_name", "new_item"]

#: Prefix of a role among an item's assignees (``role:sre``).
ROLE_PREFIX = "role:"
#: Longest person or role name.
MAX_NAME = 100


class InboxState(StrEnum):
    """Where an inbox item is in its life (see the module docstring)."""

    PENDING = "pending"
    BATCHED = "batched"
    SENT = "sent"
    DEFERRED = "deferred"
    DELEGATED = "delegated"
    ANSWERED = "answered"
    EXPIRED = "expired"


#: States in which a person may still answer.
OPEN_STATES = (InboxState.PENDING, InboxState.BATCHED, InboxState.SENT, InboxState.DEFERRED, InboxState.DELEGATED)
#: States nothing changes any more.
FINAL_STATES = (InboxState.ANSWERED, InboxState.EXPIRED)


#: Unicode categories a name may not hold: controls, formatting (zero-width, direction overrides),
#: line and paragraph separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def check_name(name: str, *, what: str) -> str:
    """``name`` stripped, or an :class:`InboxError` saying why it cannot name a person or role."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > MAX_NAME or any(unicodedata.category(c) in _UNPRINTABLE for c in cleaned):
        raise InboxError(f"{what} must be 1 to {MAX_NAME} printable characters, got {name!r}"[:300], field=what)
    return cleaned


def check_person(name: str, *, what: str) -> str:
    """:func:`check_name` for a person: never a ``role:`` (a role's members answer in their own names)."""
    cleaned = check_name(name, what=what)
    if cleaned.startswith(ROLE_PREFIX):
        raise InboxError(f"{what} names a person, not a role: a role's member answers in their own name", field=what)
    return cleaned


@dataclass(frozen=True, kw_only=True)
class InboxItem:
    """One escalated decision in the inbox (see the module docstring)."""

    id: str
    workspace: str
    decision_id: str
    state: InboxState
    priority: Priority
    type: DecisionType
    description: str
    reasons: tuple[str, ...]
    rule_hits: tuple[str, ...]
    #: What the engine suggests the person answers (``approve`` or ``reject``).
    recommendation: str
    confidence: float
    #: A rule or the profile forced the escalation: only a person may approve it.
    forced: bool
    affected_files: tuple[str, ...] = ()
    affected_systems: tuple[str, ...] = ()
    environment: str | None = None
    #: The workflow (agent run, ticket) the decision belongs to, for grouping.
    workflow: str | None = None
    #: People and ``role:`` names who may answer (empty: anyone of the workspace).
    assignees: tuple[str, ...] = ()
    created_at: datetime
    #: Unanswered after this, it expires.
    expires_at: datetime | None = None
    #: Deferred: not shown again before this.
    not_before: datetime | None = None
    batch_id: str | None = None
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    #: The answer as given (action, parameters, conditions, feedback...).
    response: Mapping[str, Any] | None = None
    #: The classification's fields, for templates and preference learning.
    classification: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def expired_at(self, now: datetime) -> bool:
        """Whether its deadline has passed at ``now`` (an answered item never expires)."""
        return self.is_open and self.expires_at is not None and now >= self.expires_at

    def may_answer(self, person: str, roles: Sequence[str] = ()) -> bool:
        """Whether ``person`` (holding ``roles``) may answer it."""
        if not self.assignees:
            return True
        mine = {person, *(r if r.startswith(ROLE_PREFIX) else ROLE_PREFIX + r for r in roles)}
        return bool(mine.intersection(self.assignees))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601 in UTC."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if isinstance(value, datetime):
                out[name] = value.astimezone(UTC).isoformat()
            elif isinstance(value, tuple):
                out[name] = list(value)
            elif isinstance(value, StrEnum):
                out[name] = value.value
            elif isinstance(value, Mapping):
                out[name] = dict(value)
            else:
                out[name] = value
        return out

    def moved(self, state: InboxState, **changes: Any) -> InboxItem:
        """The item in ``state`` with ``changes`` (the store applies the same change atomically)."""
        return replace(self, state=state, **changes)


def new_item(
    result: EscalationResult,
    decision: Decision,
    *,
    workspace: str,
    now: datetime,
    assignees: Sequence[str] = (),
    ttl_s: float | None = None,
    workflow: str | None = None,
) -> InboxItem:
    """The inbox item of an escalated ``result`` for ``decision`` (an :class:`InboxError` if it proceeded)."""
    if not result.should_escalate:
        raise InboxError("the decision proceeds on its own: nothing waits for a person", item_id=result.decision_id)
    if ttl_s is not None and not (0 < ttl_s <= 366 * 86_400):
        raise InboxError(f"ttl_s must be between 0 and a year of seconds, got {ttl_s}", field="ttl_s")
    names = tuple(dict.fromkeys(check_name(a, what="assignees") for a in assignees))
    c = result.classification
    return InboxItem(
        id=uuid.uuid4().hex[:16],
        workspace=workspace,
        decision_id=result.decision_id,
        state=InboxState.PENDING,
        priority=result.priority,
        type=result.type,
        description=decision.description,
        reasons=tuple(result.reasons),
        rule_hits=tuple(result.rule_hits),
        recommendation=str(result.recommendation),
        confidence=float(result.confidence),
        forced=bool(result.forced or result.rule_hits),
        affected_files=tuple(decision.affected_files),
        affected_systems=tuple(decision.affected_systems),
        environment=c.environment.value if c.environment is not None else None,
        workflow=workflow,
        assignees=names,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s) if ttl_s is not None else None,
        classification=dict(c.to_dict()),
    )
