"""The SQL budget ledger on SQLite and PostgreSQL: the same rules as in memory, exact under concurrency.

The state-machine test drives both the SQL ledger and the in-memory one through random interleavings
of reserve, settle, release, clock moves and reclaims, checks every line against a plain model after
each step, and checks ``spent + reserved <= cap`` whenever no bill went above its hold.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from escalade.budget import BudgetLedger, Hold, MemoryLedger, to_nano
from escalade.exceptions import BudgetExceededError, StoreError
from escalade.store import SqlLedger, SqlStore


class Clock:
    """A settable Unix clock."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_reserve_settle_release(store: SqlStore) -> None:
    """Reserving holds money on every line, settling swaps it for the bill, releasing gives it back."""
    ledger = SqlLedger(store.engine)
    ledger.open("run:r", 1.0)
    ledger.open("workspace:w:month:2026-11", None)
    hold = ledger.reserve(["workspace:w:month:2026-11", "run:r"], 0.4, ttl_s=60, owner="r/i1")
    assert hold.keys == ("run:r", "workspace:w:month:2026-11")
    assert ledger.line("run:r").reserved == to_nano(0.4)
    settled = ledger.settle(hold, 0.1)
    assert settled.applied
    assert not settled.late
    assert ledger.settle(hold, 0.1).applied is False  # idempotent
    other = ledger.reserve(["run:r"], 0.9, ttl_s=60)
    assert ledger.release(other) is True
    assert ledger.release(other) is False
    for key in ("run:r", "workspace:w:month:2026-11"):
        state = ledger.line(key)
        assert (state.spent, state.reserved) == (to_nano(0.1), 0)
    assert [h.id for h in ledger.holds(status="settled")] == [hold.id]


def test_refusal_reports_the_exact_state(store: SqlStore) -> None:
    """A refusal carries the state it was refused on, and rolls back every line of the reservation."""
    ledger = SqlLedger(store.engine)
    ledger.open("a", 1.0)
    ledger.open("b", None)
    ledger.reserve(["a"], 0.7, ttl_s=60)
    with pytest.raises(BudgetExceededError) as refused:
        ledger.reserve(["a", "b"], 0.5, ttl_s=60)
    line = refused.value.line
    assert line is not None
    assert (line.key, line.reserved, line.spent) == ("a", to_nano(0.7), 0)
    assert refused.value.requested_usd == pytest.approx(0.5)
    assert ledger.line("b").reserved == 0
    assert ledger.line("a").reserved == to_nano(0.7)


def test_unknown_line_is_an_error_and_holds_nothing(store: SqlStore) -> None:
    """Reserving on a line that was never opened fails clearly and leaves the other lines as they were."""
    ledger = SqlLedger(store.engine)
    ledger.open("a", None)
    with pytest.raises(StoreError, match="no budget line 'missing'"):
        ledger.reserve(["a", "missing"], 0.1, ttl_s=60)
    assert ledger.line("a").reserved == 0
    with pytest.raises(StoreError, match="no budget line 'missing'"):
        ledger.line("missing")


def test_set_cap_changes_the_cap_and_keeps_the_sums(store: SqlStore) -> None:
    """Opening a line again keeps its cap; set_cap (a workspace raised its limit) changes it, sums untouched."""
    ledger = SqlLedger(store.engine)
    ledger.open("m", 0.5)
    ledger.settle(ledger.reserve(["m"], 0.5, ttl_s=60), 0.5)
    with pytest.raises(BudgetExceededError):
        ledger.reserve(["m"], 0.1, ttl_s=60)
    ledger.open("m", None)
    assert ledger.line("m").cap == to_nano(0.5)
    ledger.set_cap("m", 2.0)
    ledger.reserve(["m"], 0.1, ttl_s=60)
    state = ledger.line("m")
    assert (state.cap, state.spent, state.reserved) == (to_nano(2.0), to_nano(0.5), to_nano(0.1))
    assert [s.key for s in ledger.lines("m")] == ["m"]


def test_expired_holds_of_a_crashed_process_are_reclaimed(db_url: str) -> None:
    """A process that dies holding a reservation blocks others only until its hold expires."""
    with SqlStore(db_url) as store:
        SqlLedger(store.engine).open("shared", 1.0)
    code = (
        "import os, sys; from escalade.store._sql import SqlStore; from escalade.store._ledger import SqlLedger;"
        "store = SqlStore(sys.argv[1], migrate=False);"
        "SqlLedger(store.engine).reserve(['shared'], 0.9, ttl_s=30, owner='doomed/item');"
        "os._exit(1)"  # killed before it could settle or release
    )
    crashed = subprocess.run([sys.executable, "-c", code, db_url], capture_output=True, text=True, check=False)
    assert crashed.returncode == 1, crashed.stderr
    with SqlStore(db_url) as store:
        clock = Clock(now=time.time())
        ledger = SqlLedger(store.engine, clock=clock)
        with pytest.raises(BudgetExceededError):
            ledger.reserve(["shared"], 0.5, ttl_s=30)
        clock.now += 31
        hold = ledger.reserve(["shared"], 0.5, ttl_s=30)  # the refusal reclaimed the dead hold first
        assert ledger.line("shared").reserved == hold.amount
        assert [h.owner for h in ledger.holds(status="expired")] == ["doomed/item"]
        assert ledger.reclaim_expired() == 0


def test_late_settlement_counts_once(store: SqlStore) -> None:
    """A call settling after its hold was reclaimed adds its bill once, and releases nothing twice."""
    clock = Clock()
    ledger = SqlLedger(store.engine, clock=clock)
    ledger.open("a", None)
    hold = ledger.reserve(["a"], 0.5, ttl_s=10)
    clock.now += 11
    assert ledger.reclaim_expired() == 1
    settled = ledger.settle(hold, 0.3)
    assert settled.late
    assert settled.applied
    assert ledger.settle(hold, 0.3).applied is False
    state = ledger.line("a")
    assert (state.spent, state.reserved) == (to_nano(0.3), 0)


def test_purge_keeps_open_holds(store: SqlStore) -> None:
    """Purging deletes old finished holds and never one that still holds money."""
    clock = Clock()
    ledger = SqlLedger(store.engine, clock=clock)
    ledger.open("a", None)
    ledger.settle(ledger.reserve(["a"], 0.1, ttl_s=1_000), 0.1)
    open_hold = ledger.reserve(["a"], 0.1, ttl_s=1_000)
    clock.now += 100
    assert ledger.purge(older_than_s=50) == 1
    assert [h.id for h in ledger.holds()] == [open_hold.id]


def test_concurrent_threads_never_pass_the_cap(store: SqlStore) -> None:
    """Many threads reserving at once on one line: spend stays within the cap and no write is lost."""
    ledger = SqlLedger(store.engine)
    ledger.open("hot", 1.0)
    counted: list[int] = []
    refusals: list[BudgetExceededError] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        for k in range(12):
            amount = 0.01 + ((seed * 31 + k * 17) % 7) / 100
            try:
                hold = ledger.reserve(["hot"], amount, ttl_s=60)
            except BudgetExceededError as exc:
                with lock:
                    refusals.append(exc)
                continue
            settled = ledger.settle(hold, amount * 0.75)
            with lock:
                counted.append(to_nano(settled.counted_usd))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    state = ledger.line("hot")
    assert state.spent <= to_nano(1.0)
    assert state.reserved == 0
    assert state.spent == sum(counted)  # no lost update
    assert refusals, "the workload asks for more than the cap"
    for refusal in refusals:  # refused only when the request truly did not fit at that instant
        line = refusal.line
        assert line is not None
        assert refusal.requested_usd is not None
        assert line.spent + line.reserved + to_nano(refusal.requested_usd) > to_nano(1.0)


@dataclass
class _Model:
    """The plain arithmetic the ledger must agree with."""

    caps: dict[str, int | None]
    spent: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    #: Money counted above holds (over-hold or late bills): the only way spend may pass a cap.
    excess: int = 0

    def fits(self, keys: tuple[str, ...], amount: int) -> bool:
        return all((cap := self.caps[k]) is None or self.spent[k] + self.reserved[k] + amount <= cap for k in keys)


def _ledger_machine(make: Callable[[Clock], BudgetLedger]) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        holds = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            self.clock = Clock()
            self.ledger = make(self.clock)
            prefix = uuid.uuid4().hex[:8]
            self.keys = (f"{prefix}:a", f"{prefix}:b", f"{prefix}:free")
            caps = {self.keys[0]: 1.0, self.keys[1]: 0.3, self.keys[2]: None}
            self.model = _Model(caps={k: None if c is None else to_nano(c, up=False) for k, c in caps.items()})
            #: Every hold granted so far.
            self.known: list[Hold] = []
            for key, cap in caps.items():
                self.ledger.open(key, cap)
                self.model.spent[key] = self.model.reserved[key] = 0

        def _reclaim_model(self, hold_list: list[Hold]) -> None:
            for hold in hold_list:
                if self.model.status[hold.id] == "held" and hold.expires_at <= self.clock.now:
                    self.model.status[hold.id] = "expired"
                    for k in hold.keys:
                        self.model.reserved[k] -= hold.amount

        @rule(target=holds, which=st.sets(st.integers(0, 2), min_size=1), cents=st.integers(0, 60))
        def reserve(self, which: set[int], cents: int) -> Hold | None:
            keys = tuple(sorted(self.keys[i] for i in which))
            amount = to_nano(cents / 100)
            if not self.model.fits(keys, amount):
                self._reclaim_model(self.known)
            expect = self.model.fits(keys, amount)
            try:
                hold = self.ledger.reserve(list(keys), cents / 100, ttl_s=50)
            except BudgetExceededError:
                assert not expect
                return None
            assert expect
            self.model.status[hold.id] = "held"
            for k in keys:
                self.model.reserved[k] += amount
            self.known.append(hold)
            return hold

        @rule(hold=consumes(holds), share=st.sampled_from([0.0, 0.5, 1.0, 1.5]))
        def settle(self, hold: Hold | None, share: float) -> None:
            if hold is None:
                return
            actual = to_nano(hold.amount_usd * share)
            settled = self.ledger.settle(hold, hold.amount_usd * share)
            before = self.model.status[hold.id]
            assert settled.applied == (before in ("held", "expired"))
            assert settled.late == (before == "expired")
            if before in ("held", "expired"):
                self.model.status[hold.id] = "settled"
                for k in hold.keys:
                    self.model.spent[k] += to_nano(settled.counted_usd)
                    if before == "held":
                        self.model.reserved[k] -= hold.amount
                self.model.excess += actual if before == "expired" else max(actual - hold.amount, 0)

        @rule(hold=consumes(holds))
        def release(self, hold: Hold | None) -> None:
            if hold is None:
                return
            changed = self.ledger.release(hold)
            assert changed == (self.model.status[hold.id] == "held")
            if changed:
                self.model.status[hold.id] = "released"
                for k in hold.keys:
                    self.model.reserved[k] -= hold.amount

        @rule(seconds=st.integers(0, 40))
        def wait(self, seconds: int) -> None:
            self.clock.now += seconds

        @rule()
        def reclaim(self) -> None:
            before = sum(1 for s in self.model.status.values() if s == "held")
            self._reclaim_model(self.known)
            after = sum(1 for s in self.model.status.values() if s == "held")
            assert self.ledger.reclaim_expired() == before - after

        def teardown(self) -> None:
            """Leave no open hold behind: the next example shares the database."""
            self.clock.now += 1e9
            self.ledger.reclaim_expired()

        @invariant()
        def agrees_with_the_model(self) -> None:
            for key in self.keys:
                state = self.ledger.line(key)
                assert (state.spent, state.reserved) == (self.model.spent[key], self.model.reserved[key]), key
                cap = self.model.caps[key]
                if cap is not None and self.model.excess == 0:
                    assert state.spent + state.reserved <= cap

    return LedgerMachine


def test_memory_ledger_state_machine() -> None:
    """For any interleaving, the memory ledger matches the model and spent + reserved <= cap."""
    machine = _ledger_machine(lambda clock: MemoryLedger(clock=clock))
    run_state_machine_as_test(machine, settings=settings(max_examples=60, stateful_step_count=40, deadline=None))


def test_sql_ledger_state_machine(store: SqlStore) -> None:
    """For any interleaving, the SQL ledger matches the model and spent + reserved <= cap."""
    machine = _ledger_machine(lambda clock: SqlLedger(store.engine, clock=clock, reclaim_every_s=0))
    examples = int(os.environ.get("ESCALADE_LEDGER_EXAMPLES", "20"))
    run_state_machine_as_test(machine, settings=settings(max_examples=examples, stateful_step_count=25, deadline=None))


_INTERRUPTED_RUN = """
import asyncio, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started from a background job
from escalade import EscalationConfig, Ladder, ProgressiveExecutor, Tier, WorkItem
from escalade.providers import Completion, CostEstimate, Provider, Usage
from escalade.store import SqlStore

class Slow(Provider):
    async def complete(self, request):
        print("calling", flush=True)
        await asyncio.sleep(60)
        return Completion(text="42", model=request.model, usage=Usage(input_tokens=1), cost_usd=0.1)

    def estimate(self, request):
        return CostEstimate(expected_usd=0.2, max_usd=0.2)

store = SqlStore(sys.argv[1], migrate=False)
config = EscalationConfig(tiers=Ladder([Tier(name="t", rank=0, models=("m",), threshold=0)]), max_cost=5.0,
                          auto_approve_under=None, max_concurrency=4)
ProgressiveExecutor(config, Slow(), ledger=store.ledger()).run_sync([WorkItem(id=str(n), prompt="x") for n in range(4)])
"""


def test_interrupted_run_settles_every_hold(db_url: str) -> None:
    """Ctrl-C in the middle of calls leaves no hold behind: each cut call is counted at its bound."""
    SqlStore(db_url).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_RUN, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    started = [child.stdout.readline() for _ in range(4)]
    assert started == ["calling\n"] * 4
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=60)
    with SqlStore(db_url) as store:
        ledger = store.ledger()
        assert ledger.holds(status="held") == []
        (line,) = ledger.lines("run:")
        assert (line.spent, line.reserved) == (to_nano(0.8), 0)  # four calls cut short, each at its $0.20 bound
