"""The inbox: escalated decisions in, batches out to people, answers back to the agent and the engine.

>>> from escalade.autonomy import EscalationEngine, MemoryAutonomyStore, parse_decision
>>> engine = EscalationEngine(MemoryAutonomyStore())
>>> inbox = Inbox(MemoryInboxStore(), engine)
>>> decision = parse_decision({"id": "d1", "description": "Deploy the payment service to production"})
>>> item = inbox.escalated(engine.evaluate(decision), decision, assignees=["ana"])
>>> answered = inbox.respond("d1", parse_answer({"action": "approve", "by": "ana"}))
>>> answered.state.value, answered.answered_by
('answered', 'ana')

Each answer is checked (:func:`~escalade.inbox._responses.check_answer`), then applied with a
compare-and-set on the state the item was read in, so an item is answered once even when two people
answer it at the same moment on different replicas; the loser gets an :class:`InboxError` saying
who answered. A final answer is then recorded as the decision's outcome with the engine (its
learning and audit trail). If that recording fails, the answer stays stored and the error says the
outcome was not recorded: record it again with ``escalade outcome``.

``notify`` (a :class:`~escalade.inbox._webhooks.WebhookSender`, say) is told of each batch sent
and each answer, delegation and deferral, after it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from escalade.autonomy import Decision, EscalationEngine, EscalationResult
from escalade.exceptions import EscaladeError, InboxError
from escalade.inbox._batching import ALWAYS, WAITING, Availability, BatchManager, DecisionBatch
from escalade.inbox._items import OPEN_STATES, InboxItem, InboxState, new_item
from escalade.inbox._responses import BatchAnswer, InboxAnswer, check_answer, outcome_of, parse_answer
from escalade.inbox._store import InboxStore, MemoryInboxStore
from escalade.inbox._webhooks import InboxEvent

__all__ = ["BatchResult", "Inbox", "MemoryInboxStore", "parse_answer"]

logger = logging.getLogger(__name__)

#: Times an answer is tried against an item that changes under it.
_TRIES = 3
#: Longest a caller may wait for an answer in one call (a day).
MAX_WAIT_S = 86_400.0


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """Each item of a batch answer: the answered item, or why it was not."""

    answered: tuple[InboxItem, ...]
    refused: tuple[tuple[str, InboxError], ...]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Inbox:
    """Items of escalated decisions, in an :class:`InboxStore` (see the module docstring).

    ``engine`` receives each final answer as the decision's outcome (``None``: answers are only
    stored); ``batching`` decides what a person is sent when (:class:`BatchManager`).
    """

    def __init__(
        self,
        store: InboxStore,
        engine: EscalationEngine | None = None,
        *,
        batching: BatchManager | None = None,
        notify: Callable[[InboxEvent], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.engine = engine
        self.batching = batching or BatchManager()
        self.notify = notify
        self._clock = clock

    def _tell(self, event: InboxEvent) -> None:
        """Hand ``event`` to ``notify``; its failure is logged, never the caller's."""
        if self.notify is None:
            return
        try:
            self.notify(event)
        except Exception:  # a notification must not undo or fail an answer already stored
            logger.warning("inbox.%s notification failed", event.kind, exc_info=True)

    def escalated(
        self,
        result: EscalationResult,
        decision: Decision,
        *,
        workspace: str = "default",
        assignees: tuple[str, ...] | list[str] = (),
        ttl_s: float | None = None,
        workflow: str | None = None,
    ) -> InboxItem:
        """The new item of an escalated decision (an :class:`InboxError` if it proceeds, or has one)."""
        item = new_item(
            result,
            decision,
            workspace=workspace,
            now=self._clock(),
            assignees=assignees,
            ttl_s=ttl_s,
            workflow=workflow,
        )
        self.store.add_item(item)
        return item

    def get(self, ref: str, *, workspace: str = "default") -> InboxItem:
        """The item with this inbox id, or of the decision with this id (an :class:`InboxError` if none)."""
        found = self.store.get_item(workspace, ref) or self.store.item_of_decision(workspace, ref)
        if found is None:
            raise InboxError(f"no inbox item or decision with this id in workspace {workspace!r}", item_id=ref)
        if found.expired_at(self._clock()):
            found = self._expire(found) or found
        return found

    def _expire(self, item: InboxItem) -> InboxItem | None:
        return self.store.move(item.workspace, item.id, expected=(item.state,), state=InboxState.EXPIRED)

    def open_items(
        self, workspace: str = "default", *, person: str | None = None, roles: tuple[str, ...] = ()
    ) -> list[InboxItem]:
        """Items still to answer (those ``person`` may answer, if given), most urgent first; overdue ones
        expire on the way."""
        now = self._clock()
        found = []
        for item in self.store.items(workspace, states=OPEN_STATES):
            if item.expired_at(now):
                self._expire(item)
            elif person is None or item.may_answer(person, roles):
                found.append(item)
        return sorted(found, key=lambda i: (-i.priority.rank, i.created_at))

    def due(
        self,
        workspace: str = "default",
        *,
        person: str | None,
        roles: tuple[str, ...] = (),
        availability: Availability = ALWAYS,
    ) -> DecisionBatch | None:
        """The batch to send ``person`` now, its items marked ``sent`` (``None``: nothing to send yet).

        ``person=None`` is the workspace's shared queue: the items assigned to nobody in particular.
        """
        mine = [
            i
            for i in self.open_items(workspace, person=person, roles=roles)
            if i.state in WAITING and (person is not None or not i.assignees)
        ]
        return self._send(workspace, mine, person, availability)

    def due_everywhere(self, workspace: str = "default", *, max_recipients: int = 200) -> list[DecisionBatch]:
        """Every batch due now in the workspace: one per assignee (person or role), one for the items
        assigned to nobody, the open items read once; at most ``max_recipients`` assignees a call
        (the rest wait for the next)."""
        by_recipient: dict[str | None, list[InboxItem]] = {}
        for item in self.open_items(workspace):
            if item.state not in WAITING:
                continue
            for recipient in item.assignees or (None,):
                if recipient in by_recipient or len(by_recipient) < max_recipients:
                    by_recipient.setdefault(recipient, []).append(item)
        sent = (self._send(workspace, items, who, ALWAYS) for who, items in by_recipient.items())
        return [batch for batch in sent if batch is not None]

    def _send(
        self, workspace: str, waiting: list[InboxItem], person: str | None, availability: Availability
    ) -> DecisionBatch | None:
        """Mark the batch due among ``waiting`` sent and tell ``notify`` (``None``: nothing due)."""
        now = self._clock()
        batch = self.batching.due(waiting, now, availability)
        if batch is None:
            return None
        sent = []
        for item in batch.items:
            moved = self.store.move(
                workspace, item.id, expected=(item.state,), state=InboxState.SENT, batch_id=batch.id, sent_at=now
            )
            if moved is not None:  # another process (or another assignee's batch) sent it first
                sent.append(moved)
        logger.debug("batch %s for %s: %d items (%s)", batch.id, person or "anyone", len(sent), batch.reason)
        found = _as_sent(batch, sent)
        if found is not None:
            self._tell(InboxEvent(kind="sent", workspace=workspace, items=found.items, at=now, batch=found))
        return found

    def respond(
        self, ref: str, answer: InboxAnswer | dict[str, Any], *, workspace: str = "default", roles: tuple[str, ...] = ()
    ) -> InboxItem:
        """Apply ``answer`` to the item (inbox id or decision id); the item as it now is."""
        given = answer if isinstance(answer, InboxAnswer) else parse_answer(answer)
        for _ in range(_TRIES):  # a batch sent meanwhile moves it from pending to sent: read it again
            item = self.get(ref, workspace=workspace)
            now = self._clock()
            check_answer(item, given, now=now, roles=roles)  # answered or expired meanwhile: refused here
            state, changes = _change(item, given, now)
            moved = self.store.move(workspace, item.id, expected=(item.state,), state=state, **changes)
            if moved is not None:
                break
        else:
            raise InboxError("it kept changing while this answer was given; read it again", item_id=ref)
        kind = "answered" if moved.state is InboxState.ANSWERED else moved.state.value
        self._tell(InboxEvent(kind=kind, workspace=workspace, items=(moved,), at=now))  # type: ignore[arg-type]
        outcome = outcome_of(item, given, now=now)
        if outcome is not None and self.engine is not None:
            try:
                self.engine.record_outcome(item.decision_id, outcome, workspace=workspace, at=now)
            except EscaladeError as exc:
                raise InboxError(
                    f"the answer is stored, but the decision's outcome was not recorded ({exc}); "
                    "record it with escalade outcome",
                    item_id=item.id,
                ) from exc
        return moved

    def respond_batch(
        self, batch: BatchAnswer | dict[str, Any], *, workspace: str = "default", roles: tuple[str, ...] = ()
    ) -> BatchResult:
        """Answer many items; each is answered or refused on its own (a refusal stops nothing)."""
        given = batch if isinstance(batch, BatchAnswer) else BatchAnswer.model_validate(batch)
        answered, refused = [], []
        for ref, answer in given.answers():
            try:
                answered.append(self.respond(ref, answer, workspace=workspace, roles=roles))
            except InboxError as exc:
                refused.append((ref, exc))
        return BatchResult(answered=tuple(answered), refused=tuple(refused))

    async def wait(
        self, ref: str, *, workspace: str = "default", timeout_s: float = 300.0, poll_s: float = 0.5
    ) -> InboxItem | None:
        """The item once a person has answered it (or it expired); ``None`` after ``timeout_s`` without.

        The store is polled every ``poll_s``, so an answer given in another process or on another
        replica is seen.
        """
        if not 0 <= timeout_s <= MAX_WAIT_S:
            raise InboxError(f"timeout_s must be 0 to {MAX_WAIT_S:g}, got {timeout_s}", field="timeout_s")
        deadline = time.monotonic() + timeout_s
        while True:
            item = await asyncio.to_thread(self.get, ref, workspace=workspace)
            if item.state in (InboxState.ANSWERED, InboxState.EXPIRED):
                return item
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            await asyncio.sleep(min(poll_s, left))


def _change(item: InboxItem, answer: InboxAnswer, now: datetime) -> tuple[InboxState, dict[str, Any]]:
    """The state and fields ``answer`` gives ``item``."""
    record = answer.to_dict()
    if answer.action == "delegate":
        assert answer.to is not None  # checked by the answer's model
        return InboxState.DELEGATED, {"assignees": (answer.to,), "response": record, "batch_id": None, "sent_at": None}
    if answer.action == "defer":
        return InboxState.DEFERRED, {"not_before": answer.until, "response": record, "batch_id": None, "sent_at": None}
    return InboxState.ANSWERED, {"response": record, "answered_at": now, "answered_by": answer.by}


def _as_sent(batch: DecisionBatch, sent: list[InboxItem]) -> DecisionBatch | None:
    """``batch`` with the items as this call sent them, without those another process sent first
    (``None``: it sent them all)."""
    moved = {i.id: i for i in sent}
    if not moved:
        return None
    groups = (replace(g, items=tuple(moved[i.id] for i in g.items if i.id in moved)) for g in batch.groups)
    return replace(
        batch,
        items=tuple(moved[i.id] for i in batch.items if i.id in moved),
        groups=tuple(g for g in groups if g.items),
    )
