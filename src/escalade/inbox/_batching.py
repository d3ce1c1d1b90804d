"""Batching (seed 004 §4): fewer interruptions for the same questions.

:meth:`BatchManager.due` looks at a person's pending items at a moment and says what to send now,
as one :class:`DecisionBatch`, or ``None``:

- **critical** items go at once, day or night (they override quiet hours);
- **high** items go at once when the person is available (working hours, not quiet hours);
- the rest are held until ``size`` of them wait (default 5) or the oldest has waited ``max_wait_s``
  (default 300 s), and then only when the person is available;
- whatever is sent, every pending item of the person goes with it (the interruption is paid
  already), sorted by priority then age, and **grouped**: items of the same workflow, touching the
  same system or file, or of the same type within ``group_window_s`` of each other, each group with
  a one-line summary.

:class:`Availability` is a person's working hours and quiet hours in their time zone (IANA name).
:func:`batch_efficiency` is questions per interruption over the batches sent.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escalade.autonomy import Priority
from escalade.exceptions import InboxError
from escalade.inbox._items import InboxItem, InboxState

__all__ = ["Availability", "BatchManager", "BatchPolicy", "DecisionBatch", "DecisionGroup", "batch_efficiency"]


@dataclass(frozen=True, kw_only=True)
class BatchPolicy:
    """When held items are sent: ``size`` of them, or the oldest ``max_wait_s`` old; grouping window."""

    size: int = 5
    max_wait_s: float = 300.0
    group_window_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 1000:
            raise InboxError(f"must be 1 to 1000, got {self.size}", field="size")
        if not 0 <= self.max_wait_s <= 7 * 86_400:
            raise InboxError(f"must be 0 to a week of seconds, got {self.max_wait_s}", field="max_wait_s")
        if not 0 <= self.group_window_s <= 30 * 86_400:
            raise InboxError(f"must be 0 to 30 days of seconds, got {self.group_window_s}", field="group_window_s")


def _hours(value: tuple[int, int] | None, what: str) -> tuple[time, time] | None:
    if value is None:
        return None
    start, end = value
    if not (0 <= start <= 23 and 0 <= end <= 24 and start != end):
        raise InboxError(f"must be two different hours from 0 to 24, got {value}", field=what)
    return time(start), time(0) if end == 24 else time(end)


def _within(at: time, span: tuple[time, time]) -> bool:
    start, end = span
    if start < end or end == time(0):
        return start <= at and (end == time(0) or at < end)
    return at >= start or at < end  # it crosses midnight (22 to 7)


@dataclass(frozen=True, kw_only=True)
class Availability:
    """When a person takes questions, in their time zone: ``working_hours`` (start, end) on ``workdays``
    (0 is Monday), never in ``quiet_hours``; ``None`` working hours: any time outside quiet hours."""

    timezone: str = "UTC"
    working_hours: tuple[int, int] | None = (9, 18)
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    quiet_hours: tuple[int, int] | None = (22, 7)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InboxError(f"not a known time zone: {self.timezone!r}"[:200], field="timezone") from None
        _hours(self.working_hours, "working_hours")
        _hours(self.quiet_hours, "quiet_hours")
        if not all(0 <= d <= 6 for d in self.workdays):
            raise InboxError(f"days are 0 (Monday) to 6, got {self.workdays}", field="workdays")

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.timezone))

    def quiet(self, at: datetime) -> bool:
        """Whether ``at`` falls in the person's quiet hours."""
        span = _hours(self.quiet_hours, "quiet_hours")
        return span is not None and _within(self._local(at).time(), span)

    def available(self, at: datetime) -> bool:
        """Whether the person takes questions at ``at``."""
        if self.quiet(at):
            return False
        span = _hours(self.working_hours, "working_hours")
        if span is None:
            return True
        local = self._local(at)
        return local.weekday() in self.workdays and _within(local.time(), span)


#: Always available: no working hours, no quiet hours.
ALWAYS = Availability(working_hours=None, quiet_hours=None)


@dataclass(frozen=True, kw_only=True)
class DecisionGroup:
    """Related items shown together, with why they are related and a one-line summary."""

    items: tuple[InboxItem, ...]
    #: ``workflow``, ``system``, ``file``, ``type`` or ``single``.
    relation: str
    summary: str


@dataclass(frozen=True, kw_only=True)
class DecisionBatch:
    """Items sent to a person in one interruption."""

    id: str
    created_at: datetime
    #: Why it was sent now: ``critical``, ``high``, ``size`` or ``max_wait``.
    reason: str
    items: tuple[InboxItem, ...]
    groups: tuple[DecisionGroup, ...]


#: States of items not in front of anyone yet: new, handed to someone else, or deferred (until ``not_before``).
WAITING = (InboxState.PENDING, InboxState.DELEGATED, InboxState.DEFERRED)


def _order(item: InboxItem) -> tuple[int, datetime]:
    return (-item.priority.rank, item.created_at)


class BatchManager:
    """What to send a person now (see the module docstring)."""

    def __init__(self, policy: BatchPolicy | None = None) -> None:
        self.policy = policy or BatchPolicy()

    def due(
        self, pending: Iterable[InboxItem], now: datetime, availability: Availability = ALWAYS
    ) -> DecisionBatch | None:
        """The batch to send at ``now`` from a person's waiting items (new, delegated, or deferred and due;
        others are ignored), or ``None``."""
        waiting = sorted((i for i in pending if i.state in WAITING and _shown(i, now)), key=_order)
        if not waiting:
            return None
        reason = self._reason(waiting, now, availability)
        if reason is None:
            return None
        sent = waiting if availability.available(now) else [i for i in waiting if i.priority is Priority.CRITICAL]
        return DecisionBatch(
            id=uuid.uuid4().hex[:16],
            created_at=now,
            reason=reason,
            items=tuple(sent),
            groups=tuple(group_related(sent, window_s=self.policy.group_window_s)),
        )

    def _reason(self, waiting: Sequence[InboxItem], now: datetime, availability: Availability) -> str | None:
        if any(i.priority is Priority.CRITICAL for i in waiting):
            return "critical"  # quiet hours or not
        if not availability.available(now):
            return None
        if any(i.priority is Priority.HIGH for i in waiting):
            return "high"
        if len(waiting) >= self.policy.size:
            return "size"
        oldest = min(i.created_at for i in waiting)
        if (now - oldest).total_seconds() >= self.policy.max_wait_s:
            return "max_wait"
        return None


def _shown(item: InboxItem, now: datetime) -> bool:
    """Neither expired nor deferred past ``now``."""
    return not item.expired_at(now) and (item.not_before is None or now >= item.not_before)


def _relation(a: InboxItem, b: InboxItem, window_s: float) -> str | None:
    if a.workflow is not None and a.workflow == b.workflow:
        return "workflow"
    if set(a.affected_systems) & set(b.affected_systems):
        return "system"
    if set(a.affected_files) & set(b.affected_files):
        return "file"
    if a.type == b.type and abs((a.created_at - b.created_at).total_seconds()) <= window_s:
        return "type"
    return None


def group_related(items: Sequence[InboxItem], *, window_s: float) -> list[DecisionGroup]:
    """``items`` in groups of related ones (joined transitively), in the order of each group's first item."""
    parent = list(range(len(items)))
    relation: dict[int, str] = {}

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            why = _relation(items[i], items[j], window_s)
            if why is not None and root(i) != root(j):
                first, second = root(i), root(j)
                parent[second] = first
                relation.setdefault(first, why)
    members: dict[int, list[InboxItem]] = {}
    for n, item in enumerate(items):
        members.setdefault(root(n), []).append(item)
    return [
        DecisionGroup(items=tuple(found), relation=relation.get(top, "single"), summary=_summary(found))
        for top, found in members.items()
    ]


def _summary(items: Sequence[InboxItem]) -> str:
    """``3 deployment decisions on payments (1 critical)``: a group in one line."""
    kinds = Counter(i.type.value for i in items)
    kind = kinds.most_common(1)[0][0] if len(kinds) == 1 else "related"
    systems = Counter(s for i in items for s in i.affected_systems)
    workflows = {i.workflow for i in items if i.workflow}
    where = ""
    if systems:
        where = f" on {systems.most_common(1)[0][0]}"
    elif len(workflows) == 1:
        where = f" in workflow {next(iter(workflows))}"
    urgent = sum(1 for i in items if i.priority.rank >= Priority.HIGH.rank)
    noun = "decision" if len(items) == 1 else "decisions"
    tail = f" ({urgent} high or critical)" if urgent else ""
    return f"{len(items)} {kind} {noun}{where}{tail}"[:300]


def batch_efficiency(batches: Iterable[DecisionBatch]) -> float | None:
    """Questions per interruption over ``batches`` (``None``: none was sent)."""
    sizes = [len(b.items) for b in batches]
    return sum(sizes) / len(sizes) if sizes else None
