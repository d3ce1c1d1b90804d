"""The inbox's metrics (seed 004 §10): how fast people answer, how often they are interrupted, and
how often they overrule the engine.

From a workspace's items (:func:`inbox_stats`):

- **response time**: from an item's creation to its final answer, mean and median, in seconds;
- **batch efficiency**: questions per interruption, over the answered items: each batch an item was
  sent in is one interruption, and an item answered without being sent in a batch (straight from
  the inbox page or the CLI) is one of its own;
- per person: answers, interruptions, questions per interruption, and interruptions per day over
  the span of their answers (at least a day);
- **override rate**: the share of final answers that did not do what the engine recommended
  (``approve`` recommended, rejected or changed; ``reject`` recommended, approved);
- open, expired and deferred counts, and the oldest open item's age.

Auto-approvals on learned preferences and their audited error rate come from the engine's decision
history, not from the inbox (a decision approved on a preference never reaches it).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from escalade.inbox._items import FINAL_STATES, OPEN_STATES, InboxItem, InboxState
from escalade.inbox._store import InboxStore

__all__ = ["MAX_STATS_ITEMS", "InboxStats", "PersonStats", "inbox_stats", "workspace_items"]

#: Items of each kind (open, final) :func:`workspace_items` reads at most.
MAX_STATS_ITEMS = 10_000

_DAY_S = 86_400.0


@dataclass(frozen=True, kw_only=True)
class PersonStats:
    """One person's answers and interruptions."""

    answered: int
    interruptions: int
    questions_per_interruption: float
    interruptions_per_day: float
    overrides: int
    mean_response_s: float


@dataclass(frozen=True, kw_only=True)
class InboxStats:
    """See the module docstring."""

    items: int
    open: int
    answered: int
    expired: int
    deferred: int
    oldest_open_s: float | None
    mean_response_s: float | None
    median_response_s: float | None
    batch_efficiency: float | None
    override_rate: float | None
    by_action: Mapping[str, int]
    by_person: Mapping[str, PersonStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = {k: v for k, v in self.__dict__.items() if k != "by_person"}
        out["by_action"] = dict(self.by_action)
        out["by_person"] = {name: dict(p.__dict__) for name, p in self.by_person.items()}
        return out


def _overrides(item: InboxItem) -> bool:
    """Whether the answer did not do what the engine recommended (the engine's own metrics' rule)."""
    return ((item.response or {}).get("action") == "approve") != (item.recommendation == "approve")


def _response_s(item: InboxItem) -> float:
    assert item.answered_at is not None  # answered items carry it
    return max(0.0, (item.answered_at - item.created_at).total_seconds())


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _interruptions(items: list[InboxItem]) -> int:
    """Distinct batches the items were sent in, plus each item answered outside a batch."""
    return len({i.batch_id for i in items if i.batch_id}) + sum(1 for i in items if not i.batch_id)


def _person(items: list[InboxItem]) -> PersonStats:
    interruptions = _interruptions(items)
    times = [i.answered_at for i in items if i.answered_at is not None]
    span_days = max(1.0, (max(times) - min(times)).total_seconds() / _DAY_S) if times else 1.0
    return PersonStats(
        answered=len(items),
        interruptions=interruptions,
        questions_per_interruption=round(len(items) / interruptions, 2) if interruptions else 0.0,
        interruptions_per_day=round(interruptions / span_days, 2),
        overrides=sum(1 for i in items if _overrides(i)),
        mean_response_s=round(statistics.fmean(_response_s(i) for i in items), 2),
    )


def inbox_stats(items: Iterable[InboxItem], *, now: datetime) -> InboxStats:
    """The metrics of ``items`` at ``now`` (see the module docstring)."""
    every = list(items)
    answered = [i for i in every if i.state is InboxState.ANSWERED and i.answered_at is not None]
    open_items = [i for i in every if i.is_open and not i.expired_at(now)]
    times = [_response_s(i) for i in answered]
    by_person: dict[str, list[InboxItem]] = defaultdict(list)
    by_action: dict[str, int] = defaultdict(int)
    for item in answered:
        by_person[item.answered_by or "unknown"].append(item)
        by_action[str((item.response or {}).get("action", "unknown"))] += 1
    interruptions = _interruptions(answered)
    oldest = min((i.created_at for i in open_items), default=None)
    return InboxStats(
        items=len(every),
        open=len(open_items),
        answered=len(answered),
        expired=sum(1 for i in every if i.state is InboxState.EXPIRED or (i.is_open and i.expired_at(now))),
        deferred=sum(1 for i in open_items if i.state is InboxState.DEFERRED),
        oldest_open_s=_round((now - oldest).total_seconds()) if oldest is not None else None,
        mean_response_s=_round(statistics.fmean(times)) if times else None,
        median_response_s=_round(statistics.median(times)) if times else None,
        batch_efficiency=_round(len(answered) / interruptions) if interruptions else None,
        override_rate=_round(sum(1 for i in answered if _overrides(i)) / len(answered), 4) if answered else None,
        by_action=dict(sorted(by_action.items())),
        by_person={name: _person(mine) for name, mine in sorted(by_person.items())},
    )


def workspace_items(store: InboxStore, workspace: str) -> list[InboxItem]:
    """The workspace's open and final items, at most :data:`MAX_STATS_ITEMS` of each, oldest first."""
    return [
        *store.items(workspace, states=OPEN_STATES, limit=MAX_STATS_ITEMS),
        *store.items(workspace, states=FINAL_STATES, limit=MAX_STATS_ITEMS),
    ]
