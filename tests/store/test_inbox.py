"""Inbox items in SQL (SQLite and PostgreSQL): stored and read back whole, one per decision, and every
change a compare-and-set, so two people answering at once give one answer."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta, timezone

import pytest

from escalade.exceptions import InboxError
from escalade.inbox import OPEN_STATES, Inbox, InboxState
from escalade.store import SqlStore
from tests.inbox.items import NOW, check_answered_by, item


def test_an_item_comes_back_as_it_was_stored(store: SqlStore) -> None:
    made = item(
        "high",
        systems=("payments",),
        files=("a.py",),
        workflow="run-1",
        assignees=("ana", "role:sre"),
        expires_at=NOW + timedelta(hours=1),
        classification={"type": "configuration", "reversible": True},
    )
    store.inbox.add_item(made)
    assert store.inbox.get_item("w", made.id) == made
    assert store.inbox.item_of_decision("w", made.decision_id) == made
    assert store.inbox.get_item("other", made.id) is None  # another workspace sees nothing
    with pytest.raises(InboxError, match="already has an inbox item"):
        store.inbox.add_item(dataclasses.replace(item(), decision_id=made.decision_id))


def test_items_are_listed_by_state_oldest_first(store: SqlStore) -> None:
    old, new, done = item(age_s=60), item(), item(state=InboxState.ANSWERED)
    for made in (new, done, old):
        store.inbox.add_item(made)
    assert [i.id for i in store.inbox.items("w", states=OPEN_STATES)] == [old.id, new.id]
    assert len(store.inbox.items("w")) == 3
    assert store.inbox.items("w", limit=1) == [old]


def test_a_move_happens_only_from_an_expected_state(store: SqlStore) -> None:
    made = item()
    store.inbox.add_item(made)
    sent = store.inbox.move(
        "w", made.id, expected=(InboxState.PENDING,), state=InboxState.SENT, batch_id="b1", sent_at=NOW
    )
    assert sent is not None
    assert (sent.state, sent.batch_id, sent.sent_at) == (InboxState.SENT, "b1", NOW)
    assert store.inbox.move("w", made.id, expected=(InboxState.PENDING,), state=InboxState.EXPIRED) is None
    with pytest.raises(InboxError, match="cannot change description"):
        store.inbox.move("w", made.id, expected=(InboxState.SENT,), state=InboxState.SENT, description="x")
    assert store.inbox.get_item("w", made.id) == sent


def test_two_people_answering_at_once_give_one_answer(store: SqlStore) -> None:
    made = item()
    store.inbox.add_item(made)
    box = Inbox(store.inbox, clock=lambda: NOW)
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def answer(n: int) -> None:
        start.wait()
        try:
            box.respond(made.id, {"action": "approve", "by": f"p{n}"}, workspace="w")
            outcomes.append("answered")
        except InboxError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("answered") == 1, outcomes
    assert all("answered already" in o or "changed" in o for o in outcomes if o != "answered")
    final = store.inbox.get_item("w", made.id)
    assert final is not None
    assert final.state is InboxState.ANSWERED


def test_a_persons_answered_items_come_newest_first(store: SqlStore) -> None:
    """The preference model's evidence: only the person's answered items of the workspace, bounded."""
    check_answered_by(store.inbox)


def test_a_time_with_an_offset_is_kept_as_the_same_moment(store: SqlStore) -> None:
    """A deferral until 11:30 at +02:00 is 09:30 UTC on both backends (SQLite would drop the offset)."""
    made = item()
    store.inbox.add_item(made)
    local = (NOW + timedelta(days=1)).astimezone(timezone(timedelta(hours=2)))
    moved = store.inbox.move("w", made.id, expected=(InboxState.PENDING,), state=InboxState.DEFERRED, not_before=local)
    assert moved is not None
    assert moved.not_before == local
    assert moved.not_before is not None
    assert moved.not_before.utcoffset() == timedelta(0)
