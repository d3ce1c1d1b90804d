"""Batched ledger calls on SQLite and PostgreSQL: a batch does what its calls would do one by one, all or nothing.

The state machine mixes batches (settlements, releases and reservations decided in one transaction,
on lines at and below their caps, and on a line deleted meanwhile) with single calls, clock moves
and reclaims, and after every step compares each line and each hold's status with a plain model.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import create_engine, delete, select, text

from escalade.budget import Hold, to_nano
from escalade.budget._batch import Op, Release, Reserve, Settle
from escalade.exceptions import BudgetExceededError, DatabaseError
from escalade.store import BudgetHoldRow, BudgetLineRow, SqlLedger, SqlStore
from escalade.store._ledger_batch import run_batch
from escalade.store._transactions import transaction
from tests.budget.test_batch import shape_of
from tests.store.conftest import POSTGRES_ADMIN_URL
from tests.store.test_ledger import Clock


def _batch(store: SqlStore, ops: list[Op], now: float) -> list[object]:
    with transaction(store.engine, what="test batch") as conn:
        return list(run_batch(conn, ops, now=now, at=datetime.now(UTC)))


def _machine(store: SqlStore) -> type[RuleBasedStateMachine]:
    class BatchMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = Clock()
            self.ledger = SqlLedger(store.engine, clock=self.clock, reclaim_every_s=0, batch=False)
            prefix = uuid.uuid4().hex[:8]
            self.keys = (f"{prefix}:a", f"{prefix}:b", f"{prefix}:free", f"{prefix}:gone")
            self.caps = {self.keys[0]: to_nano(1.0), self.keys[1]: to_nano(0.3), self.keys[2]: None, self.keys[3]: None}
            for key, cap in self.caps.items():
                self.ledger.open(key, None if cap is None else cap / 1e9)
            self.spent = dict.fromkeys(self.keys, 0)
            self.reserved = dict.fromkeys(self.keys, 0)
            self.gone = False
            self.holds: dict[str, Hold] = {}
            self.status: dict[str, str] = {}
            self.excess = 0

        def _fits(self, keys: tuple[str, ...], amount: int) -> bool:
            caps = self.caps
            return all(caps[k] is None or self.spent[k] + self.reserved[k] + amount <= caps[k] for k in keys)  # type: ignore[operator]

        def _apply_return(self, hold: Hold, counted: int | None) -> object:
            """The model of one settlement (``counted``) or release (``None``); its expected result."""
            was = self.status.get(hold.id)
            if counted is None:
                if was != "held":
                    return False
                self.status[hold.id] = "released"
                for k in hold.keys:
                    self.reserved[k] -= hold.amount
                return True
            if was not in ("held", "expired"):
                return ("settled", False)
            self.status[hold.id] = "settled"
            for k in hold.keys:
                self.spent[k] += counted
                self.reserved[k] -= hold.amount if was == "held" else 0
            self.excess += counted if was == "expired" else max(counted - hold.amount, 0)
            return ("settled", True, was == "expired")

        def _apply_reserve(self, hold: Hold) -> object:
            if self.gone and self.keys[3] in hold.keys:
                return "missing"
            if not self._fits(hold.keys, hold.amount):
                return "refused"
            for k in hold.keys:
                self.reserved[k] += hold.amount
            self.holds[hold.id], self.status[hold.id] = hold, "held"
            return "granted"

        @rule(
            calls=st.lists(
                st.tuples(
                    st.sampled_from(["reserve", "settle", "release"]),
                    st.sets(st.integers(0, 3), min_size=1),
                    st.integers(0, 40),
                    st.integers(0, 1_000),
                ),
                min_size=2,
                max_size=10,
            )
        )
        def batch(self, calls: list[tuple[str, set[int], int, int]]) -> None:
            ops: list[Op] = []
            for kind, which, cents, pick in calls:
                known = list(self.holds.values())
                if kind == "reserve" or not known:
                    keys = tuple(sorted(self.keys[i] for i in which))
                    amount, expiry = to_nano(cents / 100), self.clock.now + 50
                    hold = Hold(id=str(uuid.uuid4()), keys=keys, amount=amount, expires_at=expiry)
                    ops.append(Reserve(hold))
                elif kind == "settle":
                    hold = known[pick % len(known)]
                    ops.append(Settle(hold, counted=to_nano(hold.amount_usd * (pick % 4) / 2), unknown=False))
                else:
                    ops.append(Release(known[pick % len(known)]))
            expected: list[object] = [None] * len(ops)
            for i, op in enumerate(ops):  # returns first, then reservations: the documented order
                if isinstance(op, Settle):
                    expected[i] = self._apply_return(op.hold, op.counted)
                elif isinstance(op, Release):
                    expected[i] = self._apply_return(op.hold, None)
            for i, op in enumerate(ops):
                if isinstance(op, Reserve):
                    expected[i] = self._apply_reserve(op.hold)
            got = _batch(store, ops, self.clock.now)
            assert [shape_of(r) for r in got] == expected

        @rule(cents=st.integers(0, 60), which=st.sets(st.integers(0, 2), min_size=1))
        def single_reserve(self, cents: int, which: set[int]) -> None:
            keys = tuple(sorted(self.keys[i] for i in which))
            if not self._fits(keys, to_nano(cents / 100)):  # the ledger reclaims expired holds before refusing
                self._reclaim_model()
            try:
                hold = self.ledger.reserve(list(keys), cents / 100, ttl_s=50)
            except BudgetExceededError:
                assert not self._fits(keys, to_nano(cents / 100))
                return
            assert self._apply_reserve(hold) == "granted"

        @rule()
        def delete_a_line(self) -> None:
            """Retention deletes a finished run's line; later returns have nothing to count on it."""
            with store.engine.begin() as conn:
                conn.execute(delete(BudgetLineRow).where(BudgetLineRow.key == self.keys[3]))
            self.gone = True

        @rule(seconds=st.integers(0, 40))
        def wait(self, seconds: int) -> None:
            self.clock.now += seconds

        def _reclaim_model(self) -> int:
            stale = [h for h in self.holds.values() if self.status[h.id] == "held" and h.expires_at <= self.clock.now]
            for hold in stale:
                self.status[hold.id] = "expired"
                for k in hold.keys:
                    self.reserved[k] -= hold.amount
            return len(stale)

        @rule()
        def reclaim(self) -> None:
            assert self.ledger.reclaim_expired() == self._reclaim_model()

        def teardown(self) -> None:
            self.clock.now += 1e9
            self.ledger.reclaim_expired()

        @invariant()
        def agrees_with_the_model(self) -> None:
            for key in self.keys[: 3 if self.gone else 4]:
                state = self.ledger.line(key)
                assert (state.spent, state.reserved) == (self.spent[key], self.reserved[key]), key
                cap = self.caps[key]
                if cap is not None and self.excess == 0:
                    assert state.spent + state.reserved <= cap
            if self.holds:
                with store.engine.connect() as conn:
                    rows = conn.execute(
                        select(BudgetHoldRow.id, BudgetHoldRow.status).where(BudgetHoldRow.id.in_(list(self.holds)))
                    ).all()
                assert dict(rows) == self.status  # refused reservations left no hold behind

    return BatchMachine


def test_batches_agree_with_the_model(store: SqlStore) -> None:
    examples = int(os.environ.get("ESCALADE_LEDGER_EXAMPLES", "20"))
    run_state_machine_as_test(
        _machine(store), settings=settings(max_examples=examples, stateful_step_count=20, deadline=None)
    )


def test_a_failed_batch_leaves_nothing_behind(store: SqlStore) -> None:
    """A statement that fails rolls the whole batch back: no hold, no line change."""
    ledger = SqlLedger(store.engine)
    ledger.open("a", 1.0)
    held = ledger.reserve(["a"], 0.2, ttl_s=60)
    bad = Hold(id="x" * 80, keys=("a",), amount=1, expires_at=time.time() + 60)  # longer than the id column allows
    ops: list[Op] = [Settle(held, counted=to_nano(0.1), unknown=False), Reserve(bad)]
    if store.engine.dialect.name == "sqlite":  # SQLite does not enforce a VARCHAR's length: break the row instead
        ops[1] = Reserve(Hold(id=held.id, keys=("a",), amount=1, expires_at=time.time() + 60))
    with pytest.raises(DatabaseError):
        _batch(store, ops, time.time())
    state = ledger.line("a")
    assert (state.spent, state.reserved) == (0, to_nano(0.2))
    assert [h.id for h in ledger.holds()] == [held.id]


_CRASHING = """
import os, sys, threading, time
from escalade.store import SqlLedger, SqlStore
store = SqlStore(sys.argv[1], migrate=False)
ledger = SqlLedger(store.engine)
def spend():
    while True:
        try:
            ledger.settle(ledger.reserve(["hot"], 0.001, ttl_s=5, owner="doomed"), 0.0005)
            ledger.reserve(["hot"], 0.001, ttl_s=5, owner="doomed")  # left held when the process dies
        except Exception:
            pass
for _ in range(16):
    threading.Thread(target=spend, daemon=True).start()
print("running", flush=True)
time.sleep(60)
"""


def test_a_process_killed_mid_batch_leaves_a_consistent_ledger_and_its_holds_are_reclaimed(db_url: str) -> None:
    """SIGKILL while 16 threads batch: every line sum matches the holds table, and expiry returns the holds."""
    with SqlStore(db_url) as store:
        SqlLedger(store.engine).open("hot", 10.0)
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CRASHING), db_url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"running"
            time.sleep(1.5)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    with SqlStore(db_url) as store:
        ledger = SqlLedger(store.engine, clock=lambda: time.time() + 10)
        held = ledger.holds(status="held")
        settled = ledger.holds(status="settled")
        assert held  # it was killed in the middle of its work
        assert settled
        state = ledger.line("hot")
        assert state.reserved == sum(h.amount for h in held)  # no batch half-applied
        with store.engine.connect() as conn:
            actual = conn.execute(select(BudgetHoldRow.actual).where(BudgetHoldRow.status == "settled")).scalars()
            assert state.spent == sum(a or 0 for a in actual)
        assert ledger.reclaim_expired() == len(held)
        assert ledger.line("hot").reserved == 0


_WORKER = """
import sys, threading
from escalade.exceptions import BudgetExceededError
from escalade.store import SqlLedger, SqlStore
store = SqlStore(sys.argv[1], migrate=False)
ledger = SqlLedger(store.engine)
counted = []
def spend():
    for _ in range(40):
        try:
            hold = ledger.reserve(["cap", "free"], 0.01, ttl_s=600)
        except BudgetExceededError as refused:
            line = refused.line
            assert line.spent + line.reserved + 10_000_000 > line.cap, line  # a true refusal
            continue
        counted.append(round(ledger.settle(hold, 0.007).counted_usd * 1e9))
threads = [threading.Thread(target=spend) for _ in range(12)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(counted))
"""


def test_processes_batching_on_one_line_never_pass_its_cap(db_url: str) -> None:
    """3 processes × 12 threads on a line capped below their demand: within the cap, every bill counted once."""
    with SqlStore(db_url) as store:
        ledger = SqlLedger(store.engine)
        ledger.open("cap", 5.0)  # 1,440 calls of $0.007 would be $10.08
        ledger.open("free", None)
    workers = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(_WORKER), db_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    told = 0
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        told += int(out)
    with SqlStore(db_url) as store:
        ledger = SqlLedger(store.engine)
        capped, free = ledger.line("cap"), ledger.line("free")
    assert capped.cap is not None
    assert capped.spent <= capped.cap
    assert capped.spent == free.spent == told
    assert capped.reserved == free.reserved == 0
    assert capped.spent > 0.9 * capped.cap  # the cap bound: the demand was twice as large


def test_the_main_thread_never_joins_a_batch(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands in the main thread, so its calls run alone; other threads' calls are group-committed."""
    ledger = SqlLedger(store.engine)
    ledger.open("a", None)
    assert ledger._batch is not None
    submitted: list[Op] = []
    real = ledger._batch.submit

    def spy(op: Op) -> object:
        submitted.append(op)
        return real(op)

    monkeypatch.setattr(ledger._batch, "submit", spy)
    ledger.settle(ledger.reserve(["a"], 0.1, ttl_s=60), 0.05)
    assert submitted == []
    worker = threading.Thread(target=lambda: ledger.release(ledger.reserve(["a"], 0.1, ttl_s=60)))
    worker.start()
    worker.join(30)
    assert [type(op).__name__ for op in submitted] == ["Reserve", "Release"]
    state = ledger.line("a")
    assert (state.spent, state.reserved) == (to_nano(0.05), 0)


def test_huge_reservations_in_one_batch_are_refused_one_by_one(store: SqlStore) -> None:
    """Ten reservations of the largest amount on a line capped below one: each is refused, no overflow."""
    ledger = SqlLedger(store.engine)
    ledger.open("big", 5e8)
    ops: list[Op] = [
        Reserve(Hold(id=str(uuid.uuid4()), keys=("big",), amount=to_nano(1e9), expires_at=time.time() + 60))
        for _ in range(10)
    ]
    results = _batch(store, ops, time.time())
    assert all(isinstance(r, BudgetExceededError) for r in results)
    assert ledger.line("big").reserved == 0


_ORDER_WORKER = """
import sys, threading
from escalade.store import SqlLedger, SqlStore
ledger = SqlLedger(SqlStore(sys.argv[1], migrate=False).engine)
errors = []
def spend():
    for _ in range(60):
        try:
            ledger.settle(ledger.reserve(["k:B", "k:a"], 0.001, ttl_s=600), 0.0005)
        except Exception as exc:
            errors.append(type(exc).__name__ + ": " + str(exc)[:200])
threads = [threading.Thread(target=spend) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(errors), errors[:1])
"""


def test_batches_lock_lines_in_code_point_order_whatever_the_collation() -> None:
    """On a database whose collation sorts 'k:a' before 'k:B' (ICU en-US), batches and lone calls still
    lock lines in one order (Python's), so 3 processes of batched and lone calls never deadlock."""
    name = f"escalade_test_icu_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with SqlStore(url) as store:
            ledger = SqlLedger(store.engine)
            for key in ("k:B", "k:a"):
                ledger.open(key, None)
            with store.engine.connect() as conn:
                assert list(conn.scalars(text("SELECT key FROM budget_lines ORDER BY key"))) == ["k:a", "k:B"]
        workers = [
            subprocess.Popen([sys.executable, "-c", _ORDER_WORKER, url], stdout=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
        assert [out.split(" ", 1)[0] for out in outputs] == ["0", "0", "0"], outputs
        with SqlStore(url) as store:
            assert SqlLedger(store.engine).line("k:a").spent == 3 * 8 * 60 * to_nano(0.0005)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
