"""Group commit for a shared ledger: many concurrent calls of one process decided in one transaction.

A ledger in a database pays a transaction per call, and every call of every process queues on the
same hot row (the workspace's month line), so throughput is capped by how long that row stays
locked, not by the database's speed. :class:`GroupCommit` lets the calls a process makes at the same
time share one transaction: the first caller leads, the rest wait, and the leader runs everything
that has queued as one batch; when it is done, the next waiting caller leads the next batch.

:func:`plan_batch` decides a batch **exactly as if its calls had run one after another** on the
locked lines, settlements and releases first (they only give money back), then reservations in
the order they came. Each reservation is granted only if ``spent + reserved + amount <= cap`` on
every one of its lines at that point of the sequence, so the cap holds as it holds for single
statements, and a refusal carries the state it was refused on. Nothing is assumed about other
processes: they see the batch's effects all at once, at its commit.

>>> from escalade.budget._ledger import Hold, LineState
>>> lines = {"run:r": LineState(key="run:r", cap=100, spent=0, reserved=60)}
>>> held = Hold(id="h1", keys=("run:r",), amount=60, expires_at=9.0)
>>> plan = plan_batch(
...     [Reserve(Hold(id="h2", keys=("run:r",), amount=70, expires_at=9.0)), Settle(held, counted=20, unknown=False)],
...     stored={"h1": StoredHold(lines=("run:r",), amount=60, status="held")},
...     lines=lines,
... )
>>> [type(r).__name__ for r in plan.results], plan.deltas
(['Hold', 'Settlement'], {'run:r': (20, 10)})
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from escalade.budget._ledger import Hold, HoldStatus, LineState, Settlement, from_nano, refusal
from escalade.exceptions import StoreError

__all__ = [
    "GroupCommit",
    "Op",
    "Plan",
    "Release",
    "Reserve",
    "Result",
    "Settle",
    "StoredHold",
    "plan_batch",
    "plan_reservations",
    "plan_returns",
]

#: Most calls one batch decides (bounds a transaction's size and the statements' parameter lists).
MAX_BATCH = 256


@dataclass(frozen=True)
class Reserve:
    """Reserve ``hold.amount`` on every line of ``hold.keys`` (the hold is recorded only if granted)."""

    hold: Hold


@dataclass(frozen=True)
class Settle:
    """Replace ``hold`` by a bill of ``counted`` nano-dollars (``unknown``: counted at the held amount)."""

    hold: Hold
    counted: int
    unknown: bool


@dataclass(frozen=True)
class Release:
    """Give ``hold`` back."""

    hold: Hold


Op = Reserve | Settle | Release
#: What a call gets: its hold, its settlement, whether a release changed anything, or its error.
Result = Hold | Settlement | bool | Exception
#: A result not decided yet (every call has its own once :func:`plan_reservations` has run).
_PENDING: Result = StoreError("a batched ledger call was not decided")


@dataclass(frozen=True)
class StoredHold:
    """A hold as the database has it (locked for the batch)."""

    lines: tuple[str, ...]
    amount: int
    status: HoldStatus


@dataclass
class Plan:
    """What a batch does: each call's result, and the writes that make it so."""

    #: One per call, in the calls' order.
    results: list[Result]
    #: ``(hold id, old status, new status, actual)`` compare-and-sets of stored holds.
    flips: list[tuple[str, HoldStatus, HoldStatus, int | None]] = field(default_factory=list)
    #: Reservations granted (to record as ``held``), and those refused.
    granted: list[Hold] = field(default_factory=list)
    refused: list[Hold] = field(default_factory=list)
    #: ``{line: (add to spent, add to reserved)}``, only lines that change.
    deltas: dict[str, tuple[int, int]] = field(default_factory=dict)


def plan_batch(ops: Sequence[Op], *, stored: Mapping[str, StoredHold], lines: Mapping[str, LineState]) -> Plan:
    """Decide ``ops`` on the locked ``lines`` and ``stored`` holds (see the module docstring)."""
    plan = plan_returns(ops, stored=stored)
    plan_reservations(plan, ops, lines=lines)
    return plan


def plan_returns(ops: Sequence[Op], *, stored: Mapping[str, StoredHold]) -> Plan:
    """The first half of :func:`plan_batch`: the settlements and releases, which need no line's state.

    The plan's ``deltas`` are then the lines' changes from these alone, on every line they name;
    :func:`plan_reservations` completes it once the lines are locked.
    """
    status = {hold_id: hold.status for hold_id, hold in stored.items()}
    plan = Plan(results=[_PENDING] * len(ops))

    def move(keys: Sequence[str], spent: int, reserved: int) -> None:
        for key in keys:
            before = plan.deltas.get(key, (0, 0))
            plan.deltas[key] = (before[0] + spent, before[1] + reserved)

    for index, op in enumerate(ops):
        if isinstance(op, Reserve):
            continue
        found, was = stored.get(op.hold.id), status.get(op.hold.id, "released")
        if found is None or was not in (("held", "expired") if isinstance(op, Settle) else ("held",)):
            plan.results[index] = (
                Settlement(counted_usd=from_nano(op.counted), applied=False, unknown=op.unknown)
                if isinstance(op, Settle)
                else False
            )
            continue
        unreserve = found.amount if was == "held" else 0
        if isinstance(op, Settle):
            status[op.hold.id] = "settled"
            plan.flips.append((op.hold.id, was, "settled", op.counted))
            move(found.lines, op.counted, -unreserve)
            plan.results[index] = Settlement(
                counted_usd=from_nano(op.counted),
                applied=True,
                late=was == "expired",
                over_hold=op.counted > found.amount,
                unknown=op.unknown,
            )
        else:
            status[op.hold.id] = "released"
            plan.flips.append((op.hold.id, was, "released", None))
            move(found.lines, 0, -unreserve)
            plan.results[index] = True
    return plan


def plan_reservations(plan: Plan, ops: Sequence[Op], *, lines: Mapping[str, LineState]) -> None:
    """The second half of :func:`plan_batch`: grant or refuse each reservation, in order, on the locked ``lines``.

    ``plan`` comes from :func:`plan_returns`; its returns count first. A line missing from ``lines``
    was deleted (a finished run's, by retention): a return has nothing left to count on it.
    """
    state = {key: [line.spent, line.reserved] for key, line in lines.items()}
    for key, (spent, reserved) in plan.deltas.items():
        if key in state:
            state[key][0] += spent
            state[key][1] += reserved
    for index, op in enumerate(ops):
        if not isinstance(op, Reserve):
            continue
        hold = op.hold
        missing = next((key for key in hold.keys if key not in state), None)
        if missing is not None:
            plan.results[index] = StoreError(f"no budget line {missing!r}: open it before reserving on it")
            plan.refused.append(hold)
            continue
        full = next((key for key in hold.keys if not _fits(lines[key].cap, state[key], hold.amount)), None)
        if full is not None:
            spent, reserved = state[full]
            seen = LineState(key=full, cap=lines[full].cap, spent=spent, reserved=reserved)
            plan.results[index] = refusal(seen, hold.amount)
            plan.refused.append(hold)
            continue
        for key in hold.keys:
            state[key][1] += hold.amount
        plan.granted.append(hold)
        plan.results[index] = hold
    plan.deltas = {
        key: (spent - lines[key].spent, reserved - lines[key].reserved)
        for key, (spent, reserved) in state.items()
        if (spent, reserved) != (lines[key].spent, lines[key].reserved)
    }


def _fits(cap: int | None, sums: list[int], amount: int) -> bool:
    return cap is None or sums[0] + sums[1] + amount <= cap


OpT = TypeVar("OpT")
ResultT = TypeVar("ResultT")


class _Waiter(Generic[OpT, ResultT]):
    """One queued call. ``wake`` is a plain lock, taken at creation: releasing it wakes the caller, which
    is far cheaper than an ``Event`` when a batch wakes dozens of callers at once."""

    __slots__ = ("error", "lead", "op", "result", "wake")

    def __init__(self, op: OpT) -> None:
        self.op = op
        self.wake = threading.Lock()
        self.wake.acquire()
        self.lead = False
        self.result: ResultT | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[OpT, ResultT]):
    """Run the calls that come in at the same time as one batch (see the module docstring).

    ``run`` gets a batch of at most ``max_batch`` calls and returns one result per call, in order;
    a result that is an exception is raised to that call's caller. If ``run`` itself raises, every
    call of the batch gets that error (the batch's transaction was rolled back: none of it happened).
    """

    def __init__(
        self, run: Callable[[list[OpT]], Sequence[ResultT | Exception]], *, max_batch: int = MAX_BATCH
    ) -> None:
        self._run = run
        self._max = max_batch
        self._reset()
        _ALL.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Waiter[OpT, ResultT]] = []
        self._busy = False

    def submit(self, op: OpT) -> ResultT:
        """Run ``op`` in the next batch; its result (or its error, raised)."""
        waiter: _Waiter[OpT, ResultT] = _Waiter(op)
        with self._lock:
            self._queue.append(waiter)
            waiter.lead = not self._busy
            self._busy = True
        if not waiter.lead:
            try:
                waiter.wake.acquire()  # released when the call is done, or when this caller is to lead the next batch
            except BaseException:  # interrupted (Ctrl-C in the main thread): leave the queue as others need it
                self._abandon(waiter)
                raise
        if waiter.lead:
            self._lead()
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]

    def _abandon(self, waiter: _Waiter[OpT, ResultT]) -> None:
        """Take an interrupted caller's call out of the queue if it has not run; pass on the lead if it had it.

        A call already in a running batch is decided anyway (its caller was interrupted, as during
        any database write).
        """
        with self._lock:
            if waiter in self._queue:
                self._queue.remove(waiter)
            if waiter.lead:
                waiter.lead = False
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].wake.release()
                else:
                    self._busy = False

    def _lead(self) -> None:
        """Run one batch (this caller's call first among it), then hand the lead to the next waiting caller."""
        with self._lock:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
        try:
            results = self._run([waiter.op for waiter in batch])
            if len(results) != len(batch):
                raise StoreError(f"a batch of {len(batch)} call(s) returned {len(results)} result(s)")
            for waiter, result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    waiter.error = result
                else:
                    waiter.result = result
        except Exception as exc:
            for waiter in batch:
                waiter.error = exc
        except (
            BaseException
        ) as exc:  # the leader was interrupted (Ctrl-C): only it is; the others learn the outcome is unknown
            unknown = StoreError(
                f"a batch of ledger calls was interrupted ({type(exc).__name__}); it may not have committed"
            )
            for waiter in batch:
                waiter.error = exc if waiter is batch[0] else unknown
            raise
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake.release()
                else:
                    self._busy = False
            for waiter in batch:
                waiter.lead = False
                waiter.wake.release()


#: Every group, so that a forked child starts each with an empty queue (no batch of its parent's in flight).
_ALL: weakref.WeakSet[GroupCommit[Any, Any]] = weakref.WeakSet()


def _after_fork() -> None:
    for group in list(_ALL):
        group._reset()


os.register_at_fork(after_in_child=_after_fork)
