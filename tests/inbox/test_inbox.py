"""The inbox with the real engine: escalated decisions in, batches out, answers applied once and
recorded as the decisions' outcomes, waited for."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalade.autonomy import EscalationEngine, MemoryAutonomyStore, parse_decision
from escalade.exceptions import InboxError
from escalade.inbox import BatchManager, BatchPolicy, Inbox, InboxItem, InboxState, MemoryInboxStore
from escalade.store import SqlStore
from tests.inbox.items import NOW


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Inbox, Clock]]:
    clock = Clock()
    engine = EscalationEngine(MemoryAutonomyStore(), clock=clock)
    if request.param == "memory":
        yield Inbox(MemoryInboxStore(), engine, clock=clock), clock
        return
    with SqlStore(f"sqlite:///{tmp_path / 'inbox.db'}") as store:
        yield Inbox(store.inbox, engine, clock=clock), clock


def _escalate(
    inbox: Inbox, decision_id: str, description: str = "Deploy the payment service to production", **given: Any
) -> InboxItem:
    decision = parse_decision({"id": decision_id, "description": description})
    assert inbox.engine is not None
    result = inbox.engine.evaluate(decision)
    assert result.should_escalate
    return inbox.escalated(result, decision, **given)


def test_an_escalated_decision_becomes_one_pending_item(inbox: tuple[Inbox, Clock]) -> None:
    box, _ = inbox
    decision = parse_decision({"id": "d1", "description": "Deploy the payment service to production"})
    assert box.engine is not None
    result = box.engine.evaluate(decision)
    made = box.escalated(result, decision, assignees=["ana"], ttl_s=3600, workflow="run-1")
    assert made.state is InboxState.PENDING
    assert (made.decision_id, made.assignees, made.workflow, made.forced) == ("d1", ("ana",), "run-1", True)
    assert made.reasons
    assert made.type.value == "deployment"
    assert box.get("d1") == box.get(made.id) == made
    with pytest.raises(InboxError, match="already has an inbox item"):
        box.escalated(result, decision)
    with pytest.raises(InboxError, match="no inbox item or decision"):
        box.get("nope")


def test_a_decision_that_proceeds_makes_no_item(inbox: tuple[Inbox, Clock]) -> None:
    box, _ = inbox
    assert box.engine is not None
    decision = parse_decision({"id": "ok", "description": "Fix a typo in the README", "environment": "development"})
    result = box.engine.evaluate(decision)
    if result.should_escalate:
        pytest.fail(f"a README typo in development should proceed: {result.reasons}")
    with pytest.raises(InboxError, match="proceeds on its own"):
        box.escalated(result, decision)


def test_an_answer_is_applied_once_and_recorded_as_the_outcome(inbox: tuple[Inbox, Clock]) -> None:
    box, clock = inbox
    made = _escalate(box, "d1", assignees=["ana"])
    clock.now += timedelta(seconds=120)
    with pytest.raises(InboxError, match="'bo' may not answer"):
        box.respond("d1", {"action": "approve", "by": "bo"})
    answered = box.respond(made.id, {"action": "reject", "by": "ana", "feedback": "after the freeze"})
    assert (answered.state, answered.answered_by, answered.answered_at) == (InboxState.ANSWERED, "ana", clock.now)
    assert answered.response == {"action": "reject", "by": "ana", "feedback": "after the freeze"}
    assert box.engine is not None
    stored = box.engine.store.get_decision("default", "d1")
    assert stored is not None
    assert stored.outcome is not None
    assert (stored.outcome.response, stored.outcome.response_time_s) == ("reject", 120.0)
    with pytest.raises(InboxError, match="answered already, by 'ana'"):
        box.respond("d1", {"action": "approve", "by": "ana"})
    assert box.get("d1") == answered  # the refused answer changed nothing


def test_delegate_then_defer_then_answer(inbox: tuple[Inbox, Clock]) -> None:
    box, clock = inbox
    _escalate(box, "d1", assignees=["ana"])
    delegated = box.respond("d1", {"action": "delegate", "by": "ana", "to": "role:sre"})
    assert (delegated.state, delegated.assignees) == (InboxState.DELEGATED, ("role:sre",))
    with pytest.raises(InboxError, match="'ana' may not answer"):
        box.respond("d1", {"action": "approve", "by": "ana"})
    later = clock.now + timedelta(hours=2)
    deferred = box.respond("d1", {"action": "defer", "by": "bo", "until": later.isoformat()}, roles=("sre",))
    assert (deferred.state, deferred.not_before) == (InboxState.DEFERRED, later)
    assert box.due(person="bo", roles=("sre",)) is None  # not before two hours
    clock.now = later
    batch = box.due(person="bo", roles=("sre",))
    assert batch is not None
    assert [i.decision_id for i in batch.items] == ["d1"]
    assert box.get("d1").state is InboxState.SENT
    done = box.respond("d1", {"action": "approve", "by": "bo"}, roles=("sre",))
    assert done.state is InboxState.ANSWERED


def test_due_sends_a_batch_once_and_marks_it_sent(inbox: tuple[Inbox, Clock]) -> None:
    box, _ = inbox
    box.batching = BatchManager(BatchPolicy(size=2))
    _escalate(box, "d1", assignees=["ana"])
    _escalate(box, "d2", assignees=["ana"])
    _escalate(box, "d3", assignees=["bo"])
    batch = box.due(person="ana")
    assert batch is not None
    assert {i.decision_id for i in batch.items} == {"d1", "d2"}  # bo's item is not ana's
    assert {i.state for i in batch.items} == {InboxState.SENT}  # as sent, not as they were read
    assert all(box.get(i.id).state is InboxState.SENT and box.get(i.id).batch_id == batch.id for i in batch.items)
    assert box.due(person="ana") is None  # sent already


def test_an_overdue_item_expires_and_cannot_be_answered(inbox: tuple[Inbox, Clock]) -> None:
    box, clock = inbox
    _escalate(box, "d1", ttl_s=60)
    clock.now += timedelta(seconds=61)
    assert box.open_items() == []
    assert box.get("d1").state is InboxState.EXPIRED
    with pytest.raises(InboxError, match="expired"):
        box.respond("d1", {"action": "approve", "by": "ana"})


def test_a_batch_answer_answers_each_and_refuses_each_on_its_own(inbox: tuple[Inbox, Clock]) -> None:
    box, _ = inbox
    for n in range(3):
        _escalate(box, f"d{n}")
    box.respond("d2", {"action": "approve", "by": "bo"})
    result = box.respond_batch(
        {
            "items": ["d0", "d1", "d2", "zz"],
            "answer": {"action": "approve", "by": "ana"},
            "exceptions": {"d1": {"action": "reject", "by": "ana", "feedback": "no"}},
        }
    )
    assert [(i.decision_id, (i.response or {})["action"]) for i in result.answered] == [
        ("d0", "approve"),
        ("d1", "reject"),
    ]
    assert [ref for ref, _ in result.refused] == ["d2", "zz"]
    assert "answered already" in str(result.refused[0][1])


def test_wait_returns_the_answer_given_meanwhile_or_none_after_the_timeout(inbox: tuple[Inbox, Clock]) -> None:
    box, _ = inbox
    _escalate(box, "d1")
    assert asyncio.run(box.wait("d1", timeout_s=0.05, poll_s=0.01)) is None
    answer = threading.Timer(0.1, lambda: box.respond("d1", {"action": "approve", "by": "ana"}))
    answer.start()
    got = asyncio.run(box.wait("d1", timeout_s=10, poll_s=0.02))
    answer.join()
    assert got is not None
    assert got.state is InboxState.ANSWERED
    with pytest.raises(InboxError, match="timeout_s"):
        asyncio.run(box.wait("d1", timeout_s=-1))
