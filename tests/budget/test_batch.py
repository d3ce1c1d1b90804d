"""Group commit: a batch is decided exactly as its calls one after another, and every caller gets its own answer."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.budget import Hold, LineState, Settlement
from escalade.budget._batch import (
    GroupCommit,
    Op,
    Release,
    Reserve,
    Settle,
    StoredHold,
    plan_batch,
    plan_reservations,
    plan_returns,
)
from escalade.exceptions import BudgetExceededError, StoreError

KEYS = ("a", "b", "c", "gone")


def _hold(hold_id: str, keys: Sequence[str], amount: int) -> Hold:
    return Hold(id=hold_id, keys=tuple(sorted(set(keys))), amount=amount, expires_at=1e12)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Op], dict[str, StoredHold], dict[str, LineState]]:
    """Lines (one of them deleted), stored holds in every status, and a batch of calls on them."""
    lines = {}
    for key in KEYS[:3]:
        cap = draw(st.none() | st.integers(0, 100))
        spent = draw(st.integers(0, 100 if cap is None else cap))
        reserved = draw(st.integers(0, 100 if cap is None else cap - spent))
        lines[key] = LineState(key=key, cap=cap, spent=spent, reserved=reserved)
    line_sets = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3)
    stored = {
        f"s{i}": StoredHold(
            lines=tuple(sorted(set(draw(line_sets)))),
            amount=draw(st.integers(0, 40)),
            status=draw(st.sampled_from(["held", "expired", "settled", "released"])),
        )
        for i in range(draw(st.integers(0, 5)))
    }
    ops: list[Op] = []
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["reserve", "settle", "release"]))
        if kind == "reserve":
            ops.append(Reserve(_hold(f"n{i}", draw(line_sets), draw(st.integers(0, 60)))))
            continue
        hold_id = draw(st.sampled_from([*stored, "unknown"]))
        hold = _hold(hold_id, ("a",), 1)
        if kind == "settle":
            ops.append(Settle(hold, counted=draw(st.integers(0, 50)), unknown=False))
        else:
            ops.append(Release(hold))
    return ops, stored, lines


def _one_by_one(
    ops: Sequence[Op], stored: dict[str, StoredHold], lines: dict[str, LineState]
) -> tuple[list[object], dict[str, list[int]]]:
    """The plain arithmetic: returns in order, then reservations in order, one at a time."""
    sums = {key: [line.spent, line.reserved] for key, line in lines.items()}
    status = {hold_id: hold.status for hold_id, hold in stored.items()}
    results: list[object] = [None] * len(ops)
    for i, op in enumerate(ops):
        if isinstance(op, Reserve):
            continue
        record, was = stored.get(op.hold.id), status.get(op.hold.id)
        settles = isinstance(op, Settle)
        if record is None or not (was == "held" or (settles and was == "expired")):
            results[i] = ("settled", False) if settles else False
            continue
        status[op.hold.id] = "settled" if settles else "released"
        for key in record.lines:
            if key in sums:
                sums[key][0] += op.counted if isinstance(op, Settle) else 0
                sums[key][1] -= record.amount if was == "held" else 0
        results[i] = ("settled", True, was == "expired") if settles else True
    for i, op in enumerate(ops):
        if not isinstance(op, Reserve):
            continue
        keys, amount = op.hold.keys, op.hold.amount
        if any(key not in sums for key in keys):
            results[i] = "missing"
        elif all(lines[k].cap is None or sums[k][0] + sums[k][1] + amount <= lines[k].cap for k in keys):  # type: ignore[operator]
            for key in keys:
                sums[key][1] += amount
            results[i] = "granted"
        else:
            results[i] = "refused"
    return results, sums


def shape_of(result: object) -> object:
    """A call's result as the model states it (also used by the SQL batch tests)."""
    if isinstance(result, Settlement):
        return ("settled", result.applied, result.late) if result.applied else ("settled", False)
    if isinstance(result, Hold):
        return "granted"
    if isinstance(result, BudgetExceededError):
        return "refused"
    if isinstance(result, StoreError):
        return "missing"
    return result


@settings(max_examples=400, deadline=None)
@given(batches())
def test_a_batch_is_its_calls_one_after_another(
    case: tuple[list[Op], dict[str, StoredHold], dict[str, LineState]],
) -> None:
    """Results and line changes equal the calls run one at a time; a refusal names a line that truly had no room."""
    ops, stored, lines = case
    plan = plan_batch(ops, stored=stored, lines=lines)
    expected, sums = _one_by_one(ops, stored, lines)
    assert [shape_of(r) for r in plan.results] == expected
    for key, line in lines.items():
        spent, reserved = plan.deltas.get(key, (0, 0))
        assert [line.spent + spent, line.reserved + reserved] == sums[key]
    assert "gone" not in plan.deltas
    for result in plan.results:
        if isinstance(result, BudgetExceededError):
            seen = result.line
            assert seen is not None
            assert seen.cap is not None
            assert result.requested_usd is not None
            assert seen.spent + seen.reserved + round(result.requested_usd * 1e9) > seen.cap
    granted = {r.id for r in plan.results if isinstance(r, Hold)}
    assert {h.id for h in plan.granted} == granted
    assert {h.id for h in plan.refused} == {op.hold.id for op in ops if isinstance(op, Reserve)} - granted
    over = any(  # a bill above its hold, or a late one, may pass a cap; nothing else may
        isinstance(op, Settle) and op.hold.id in stored and (op.counted > stored[op.hold.id].amount or late)
        for op in ops
        for late in [stored.get(op.hold.id, StoredHold(lines=(), amount=0, status="held")).status == "expired"]
    )
    for key, line in lines.items():
        spent, reserved = plan.deltas.get(key, (0, 0))
        if line.cap is not None and not over:
            assert line.spent + spent + line.reserved + reserved <= line.cap


def test_returns_are_planned_before_the_lines_are_read() -> None:
    """The first half needs only the stored holds; the second adds the reservations on the locked lines."""
    held = _hold("h", ("a",), 60)
    ops: list[Op] = [Reserve(_hold("n", ("a",), 70)), Settle(held, counted=20, unknown=False)]
    plan = plan_returns(ops, stored={"h": StoredHold(lines=("a",), amount=60, status="held")})
    assert plan.deltas == {"a": (20, -60)}
    assert plan.flips == [("h", "held", "settled", 20)]
    plan_reservations(plan, ops, lines={"a": LineState(key="a", cap=100, spent=0, reserved=60)})
    assert plan.deltas == {"a": (20, 10)}
    assert isinstance(plan.results[0], Hold)


def test_the_same_hold_twice_in_a_batch_counts_once() -> None:
    held = _hold("h", ("a",), 10)
    ops: list[Op] = [Settle(held, counted=5, unknown=False), Release(held), Settle(held, counted=5, unknown=False)]
    plan = plan_batch(
        ops,
        stored={"h": StoredHold(lines=("a",), amount=10, status="held")},
        lines={"a": LineState(key="a", cap=None, spent=0, reserved=10)},
    )
    assert [shape_of(r) for r in plan.results] == [("settled", True, False), False, ("settled", False)]
    assert plan.deltas == {"a": (5, -10)}


# -- GroupCommit --------------------------------------------------------------------------------------


def test_every_caller_gets_its_own_result_and_calls_share_batches() -> None:
    """64 threads at once: each gets the answer to its own call, in batches of at most max_batch."""
    sizes: list[int] = []
    gate = threading.Event()

    def run(batch: list[int]) -> list[int | Exception]:
        sizes.append(len(batch))
        gate.wait(5)  # the first batch waits, so the others queue behind it
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in batch]

    group: GroupCommit[int, int] = GroupCommit(run, max_batch=16)

    def call(n: int) -> object:
        try:
            return group.submit(n)
        except ValueError as exc:
            return str(exc)

    with ThreadPoolExecutor(64) as pool:
        futures = [pool.submit(call, n) for n in range(64)]
        time.sleep(0.2)
        gate.set()
        answers = [f.result(timeout=10) for f in futures]
    assert answers == [f"odd {n}" if n % 2 else n * 10 for n in range(64)]
    assert sum(sizes) == 64
    assert max(sizes) <= 16
    assert len(sizes) < 64  # calls were grouped


def test_a_failed_batch_fails_each_of_its_calls_and_the_next_batch_runs() -> None:
    calls = 0

    def run(batch: list[int]) -> list[int | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("the database went away")
        return list(batch)

    group: GroupCommit[int, int] = GroupCommit(run)
    with pytest.raises(StoreError, match="went away"):
        group.submit(1)
    assert group.submit(2) == 2


def test_a_run_that_returns_the_wrong_number_of_results_is_an_error() -> None:
    group: GroupCommit[int, int] = GroupCommit(lambda batch: [])
    with pytest.raises(StoreError, match="returned 0 result"):
        group.submit(1)
    with pytest.raises(StoreError):  # the lead was handed back: a later call is not stuck
        group.submit(2)


def test_a_forked_child_starts_with_an_empty_queue() -> None:
    """A child forked while a parent's thread leads a batch does not wait for that batch."""
    group: GroupCommit[int, int] = GroupCommit(list)
    group._busy = True  # as a parent's leading thread leaves it at the fork
    pid = os.fork()
    if pid == 0:  # the child: SIGALRM's default action ends it if the call hangs
        signal.alarm(5)
        os._exit(0 if group.submit(3) == 3 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    group._busy = False


class _InterruptError(Exception):
    pass


def test_a_caller_interrupted_while_queued_leaves_the_queue_working() -> None:
    """Ctrl-C while waiting in the queue: that call never runs, and the calls after it are still served."""
    ran: list[int] = []
    gate = threading.Event()

    def run(batch: list[int]) -> list[int | Exception]:
        gate.wait(5)
        ran.extend(batch)
        return list(batch)

    group: GroupCommit[int, int] = GroupCommit(run)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(group.submit, 1)  # leads, and waits at the gate
        time.sleep(0.1)

        def interrupt(_signum: int, _frame: object) -> None:
            raise _InterruptError

        previous = signal.signal(signal.SIGALRM, interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(_InterruptError):
                group.submit(2)  # queued behind the first batch, then interrupted
        finally:
            signal.signal(signal.SIGALRM, previous)
        later = pool.submit(group.submit, 3)
        time.sleep(0.1)
        gate.set()
        assert first.result(timeout=5) == 1
        assert later.result(timeout=5) == 3
    assert ran == [1, 3]
    assert group.submit(4) == 4


class _StopError(BaseException):
    """Stands for KeyboardInterrupt raised in a leading caller."""


def test_a_leader_interrupted_mid_batch_tells_the_others_the_outcome_is_unknown() -> None:
    gate, entered = threading.Event(), threading.Event()
    calls = 0

    def run(batch: list[int]) -> list[int | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            gate.wait(5)  # the others queue meanwhile
            return list(batch)
        if calls == 2:
            raise _StopError
        return list(batch)

    group: GroupCommit[int, int] = GroupCommit(run)

    def call(n: int) -> object:
        try:
            return group.submit(n)
        except StoreError as exc:
            return str(exc)
        except _StopError:
            return "interrupted"

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(call, 1)
        entered.wait(5)
        queued = [pool.submit(call, n) for n in (2, 3)]
        time.sleep(0.2)
        gate.set()
        answers = sorted(str(f.result(timeout=5)) for f in queued)
    assert first.result() == 1
    assert "interrupted" in answers  # the one that led the second batch
    assert sum("may not have committed" in answer for answer in answers) == 1  # the other one of it
    assert group.submit(4) == 4  # and the queue still works
