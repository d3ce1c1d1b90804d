"""Inbox items for the tests: made by hand (batching, answers) or from the real engine (the inbox)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from escalade.autonomy import DecisionType, Priority
from escalade.inbox import InboxItem, InboxState, InboxStore

#: A Wednesday, 10:00 UTC: working hours.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
STAGING = "Deploy the search service to staging"
_ids = itertools.count(1)


def item(
    priority: str = "low",
    *,
    age_s: float = 0.0,
    type: str = "configuration",
    systems: tuple[str, ...] = (),
    files: tuple[str, ...] = (),
    workflow: str | None = None,
    state: InboxState = InboxState.PENDING,
    **changes: Any,
) -> InboxItem:
    """An item created ``age_s`` before :data:`NOW`."""
    n = next(_ids)
    return InboxItem(
        id=f"i{n}",
        workspace="w",
        decision_id=f"d{n}",
        state=state,
        priority=Priority(priority),
        type=DecisionType(type),
        description=f"change number {n}",
        reasons=("rule x",),
        rule_hits=(),
        recommendation="approve",
        confidence=0.6,
        forced=False,
        affected_files=files,
        affected_systems=systems,
        workflow=workflow,
        created_at=NOW - timedelta(seconds=age_s),
        **changes,
    )


def check_answered_by(store: InboxStore) -> None:
    """``store.answered_by``: only the person's answered items of the workspace, newest first, since, limit."""
    made = [
        item(age_s=age, state=InboxState.ANSWERED, answered_by=by, answered_at=NOW, response={"action": "approve"})
        for age, by in ((300, "ana"), (200, "bo"), (100, "ana"), (0, "ana"))
    ]
    pending = item(age_s=50, assignees=("ana",))
    for i in (*made, pending):
        store.add_item(i)
    assert [i.id for i in store.answered_by("w", "ana")] == [made[3].id, made[2].id, made[0].id]
    assert store.answered_by("w", "ana", limit=1) == [made[3]]
    assert [i.id for i in store.answered_by("w", "ana", since=NOW - timedelta(seconds=150))] == [made[3].id, made[2].id]
    assert store.answered_by("other", "ana") == []
    assert store.answered_by("w", "zoe") == []


def answered(
    action: str = "approve",
    *,
    by: str = "ana",
    age_days: float = 1.0,
    description: str = STAGING,
    now: datetime = NOW,
    **changes: Any,
) -> InboxItem:
    """A staging deployment of the search service that ``by`` answered with ``action`` ``age_days`` before ``now``."""
    made = item(type="deployment", systems=("search",), environment="staging")
    when = now - timedelta(days=age_days)
    return replace(
        made,
        description=description,
        state=InboxState.ANSWERED,
        answered_by=by,
        answered_at=when,
        created_at=when - timedelta(minutes=5),
        response={"action": action, "by": by},
        **changes,
    )
