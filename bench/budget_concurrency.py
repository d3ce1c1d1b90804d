"""Budget caps under load: many processes and tasks reserving against one shared budget line.

    .venv/bin/python -m bench.budget_concurrency [--backend postgresql|sqlite|both] [--processes 1,4,8]
        [--tasks 50] [--rounds 25] [--pairs 15] [--repeats 3] [--seed 0] [--postgres-url URL]

For each backend (a fresh PostgreSQL database, dropped at the end even on error, and a temporary
SQLite file) and each process count P, P worker processes (``spawn``) each run T asyncio tasks that
call the ledger through ``asyncio.to_thread``. The processes wait at a barrier before every phase and
start together, so they really contend for the line's row and for their connections (each process
has a pool of ``--pool-size`` connections, fewer than its tasks). Two real ledgers run the same
phases, **in turns, in the same run**, so the machine's load falls on both alike:

- ``batched``: :class:`~escalade.store._ledger.SqlLedger` as escalade uses it, which group-commits
  the calls a process makes at the same time (one transaction decides them all, as if one after
  another);
- ``statement``: the same class with ``batch=False``, one transaction per call: the ledger before
  group commit, kept to measure against.

1. **Capped** (the proof), once per ledger. Every (process, task, round) has a call planned from
   ``--seed``: an amount to reserve (log-uniform, $0.001 to $0.05), a bill of 50–100 % of it, a
   0–5 ms "call", and in 5 % of cases a failure (the hold is released, no bill). The *demand* is
   the sum of the bills the calls would pay if all were granted; the phase's line is opened with a
   cap of 90 % of it, so the cap must refuse some calls. (A cap of 90 % of the reserved amounts
   would never bind: bills average 71 % of them.) Each task reserves, "calls", then settles or
   releases.

   - ``overshoot_usd`` = max(0, spent − cap), read from the line after the run: must be 0.
   - ``false_refusals``: refusals whose own line state (as the ledger saw it when it refused) had
     ``cap − spent − reserved >= amount``, i.e. enough was left for that request: must be 0.
   - ``lost_writes``: the sum of what the ledger said it counted on every settlement
     (``Settlement.counted_usd``) must equal the line's ``spent`` to the nano-dollar, ``reserved``
     must be back at 0, and the holds table must agree with the clients' counts of settled and
     released holds and with their sum: must be false.

2. **Naive baseline** (not a product feature, see :class:`NaiveLedger`): the same workload on a
   third line through a *check-then-record* ledger: one SELECT, a comparison in Python, then a
   plain ``reserved = reserved + amount`` UPDATE. It shows that the harness sees the race when the
   check is not atomic: ``overcommitted_grants`` counts grants after which ``spent + reserved`` was
   above the cap, and ``overshoot_usd`` what was finally spent above it. Its figures vary from run
   to run; they are reported as measured.

3. **Throughput**: the same P × T layout on an uncapped line, each task doing ``--pairs``
   reserve+settle pairs with no call in between; ``--repeats`` runs of each ledger, alternating.
   Pairs per second = all pairs / the time from the common start to the end of the slowest
   process; latency is one pair as its task saw it (thread and connection pool waits included).
   The medians are reported, the runs listed, and ``batched_over_statement`` is the median of the
   ratios of runs made side by side.

Reading the result: ``passed`` is true when, on every backend and at every process count, both real
ledgers had no overshoot, no false refusal, no lost write and no odd settlement (``anomalies``: a
settle not applied or late, a release that changed nothing). The process exits 1 otherwise, after
printing the JSON, which is also kept in ``bench/results/budget_concurrency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import queue
import random
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any, Literal, Protocol, cast

from sqlalchemy import Engine, Table, create_engine, event, func, select, update

from bench._common import postgres_database, write_result
from escalade.budget import Hold, LineState, Settlement, from_nano, month_line, refusal, run_line, to_nano
from escalade.exceptions import BudgetExceededError
from escalade.store import BudgetHoldRow, BudgetLineRow, SqlLedger, SqlStore

POSTGRES_ADMIN_URL = os.environ.get("ESCALADE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Connections all worker processes may hold together (the server allows 100; leave room for others).
CONNECTIONS = 64
#: Reserved amounts span $0.001 to $0.05, log-uniform, in nano-dollars.
AMOUNT_RANGE = (1_000_000, 50_000_000)
FAIL_SHARE = 0.05
CALL_S = 0.005
CAP_SHARE = 0.9
#: Long enough that no hold expires during the bench (a reclaim would blur the checks).
TTL_S = 600.0
THROUGHPUT_AMOUNT = 10_000_000
#: Seconds a worker waits at the barrier, and the coordinator for any message.
TIMEOUT_S = 600.0

_LINES = cast(Table, BudgetLineRow.__table__)
_HOLDS = cast(Table, BudgetHoldRow.__table__)

Kind = Literal["capped", "throughput"]
#: The group-committed ledger (escalade's default), the per-statement one it replaced, and the racy baseline.
LedgerName = Literal["batched", "statement", "naive"]
LEDGERS: tuple[LedgerName, ...] = ("statement", "batched")


@dataclass(frozen=True, kw_only=True)
class Params:
    """The bench's settings (one per command-line option)."""

    processes: tuple[int, ...]
    tasks: int
    rounds: int
    pairs: int
    repeats: int
    seed: int
    #: Connections per process (``None``: ``CONNECTIONS`` shared by the processes, at most one per task).
    pool_size: int | None


@dataclass(frozen=True, kw_only=True)
class Step:
    """One planned call: what is reserved, billed (nano-dollars), and how long the call takes."""

    amount: int
    actual: int
    fails: bool
    call_s: float


@dataclass(frozen=True, kw_only=True)
class Phase:
    """One synchronised stretch of work on one line."""

    name: str
    kind: Kind
    ledger: LedgerName
    key: str


@dataclass(frozen=True, kw_only=True)
class WorkerSpec:
    """What one worker process is asked to do."""

    index: int
    url: str
    params: Params
    pool_size: int
    phases: tuple[Phase, ...]


@dataclass(kw_only=True)
class Outcome:
    """What one process saw in one phase; amounts in nano-dollars, times as Unix time."""

    started: float = 0.0
    ended: float = 0.0
    granted: int = 0
    refused: int = 0
    #: ``(amount, cap, spent, reserved)`` of each refusal that had enough left.
    false_refusals: list[tuple[int, int, int, int]] = field(default_factory=list)
    settled: int = 0
    released: int = 0
    #: Sum of ``Settlement.counted_usd`` over this process's settlements.
    counted: int = 0
    #: Settlements not applied or late, releases that changed nothing.
    anomalies: list[str] = field(default_factory=list)
    #: Naive baseline: how far ``spent + reserved`` passed the cap right after each such grant.
    overcommits: list[int] = field(default_factory=list)
    #: Throughput: seconds per reserve+settle pair.
    latencies: list[float] = field(default_factory=list)


class _Ledger(Protocol):
    """The part of :class:`~escalade.budget._ledger.BudgetLedger` the tasks use (the naive baseline has it too)."""

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold: ...

    def settle(self, hold: Hold, actual_usd: float | None) -> Settlement: ...

    def release(self, hold: Hold) -> bool: ...


# -- workload -------------------------------------------------------------------------------------


def plan(seed: int, process: int, task: int, rounds: int) -> list[Step]:
    """The calls of one task, the same in the worker and on the coordinator."""
    rng = random.Random(f"{seed}/{process}/{task}")
    low, high = (math.log(bound) for bound in AMOUNT_RANGE)
    steps = []
    for _ in range(rounds):
        amount = round(math.exp(rng.uniform(low, high)))
        steps.append(
            Step(
                amount=amount,
                actual=math.floor(amount * rng.uniform(0.5, 1.0)),
                fails=rng.random() < FAIL_SHARE,
                call_s=rng.uniform(0.0, CALL_S),
            )
        )
    return steps


def demand(params: Params, processes: int) -> tuple[int, int]:
    """``(bills, reserved)``: what the planned calls of ``processes`` processes would pay and reserve (nano-dollars)."""
    steps = [
        step
        for process in range(processes)
        for task in range(params.tasks)
        for step in plan(params.seed, process, task, params.rounds)
    ]
    return sum(s.actual for s in steps if not s.fails), sum(s.amount for s in steps)


# -- the naive baseline -----------------------------------------------------------------------------


class NaiveLedger:
    """BASELINE ONLY, deliberately racy: the check-then-record ledger the issue warns about.

    ``reserve`` reads ``spent`` and ``reserved`` with one SELECT, compares in Python, and records
    the hold with a second statement, a plain ``reserved = reserved + amount``. Between the two, other
    callers can pass the same check, so together they can go past the cap. The increments are atomic
    (no write is lost); only the check races. Holds are not stored: one bench task settles each once.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: How far ``spent + reserved`` was above the cap right after each grant that passed it.
        self.overcommits: list[int] = []

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold:
        (key,) = keys
        amount = to_nano(amount_usd)
        query = select(_LINES.c.cap, _LINES.c.spent, _LINES.c.reserved).where(_LINES.c.key == key)
        with self.engine.connect() as conn:
            seen = conn.execute(query).one()
        if seen.cap is not None and seen.spent + seen.reserved + amount > seen.cap:
            raise refusal(LineState(key=key, cap=seen.cap, spent=seen.spent, reserved=seen.reserved), amount)
        after = self._add(key, spent=0, reserved=amount)
        if after.cap is not None and after.spent + after.reserved > after.cap:
            self.overcommits.append(after.spent + after.reserved - after.cap)
        return Hold(id=owner, keys=(key,), amount=amount, expires_at=time.time() + ttl_s, owner=owner)

    def settle(self, hold: Hold, actual_usd: float | None) -> Settlement:
        counted = hold.amount if actual_usd is None else to_nano(actual_usd)
        self._add(hold.keys[0], spent=counted, reserved=-hold.amount)
        return Settlement(counted_usd=from_nano(counted), applied=True)

    def release(self, hold: Hold) -> bool:
        self._add(hold.keys[0], spent=0, reserved=-hold.amount)
        return True

    def _add(self, key: str, *, spent: int, reserved: int) -> LineState:
        stmt = (
            update(_LINES)
            .where(_LINES.c.key == key)
            .values(spent=_LINES.c.spent + spent, reserved=_LINES.c.reserved + reserved)
            .returning(_LINES.c.cap, _LINES.c.spent, _LINES.c.reserved)
        )
        with self.engine.begin() as conn:
            row = conn.execute(stmt).one()
        return LineState(key=key, cap=row.cap, spent=row.spent, reserved=row.reserved)


# -- worker processes -------------------------------------------------------------------------------


def _engine(url: str, pool_size: int) -> Engine:
    """An engine with exactly ``pool_size`` connections, set up as :class:`SqlStore` sets up its own."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, pool_size=pool_size, max_overflow=0, connect_args={"timeout": 30} if sqlite else {})
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    opened = [engine.connect() for _ in range(pool_size)]  # connect before the start, not while timed
    for conn in opened:
        conn.close()
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def _finish(ledger: _Ledger, hold: Hold, actual: int | None, out: Outcome) -> None:
    """Settle ``hold`` with the bill ``actual``, or release it (``None``: the call failed)."""
    if actual is None:
        out.released += 1
        if not await asyncio.to_thread(ledger.release, hold):
            out.anomalies.append(f"release of {hold.id} changed nothing")
        return
    settled = await asyncio.to_thread(ledger.settle, hold, from_nano(actual))
    out.settled += 1
    out.counted += to_nano(settled.counted_usd)
    if not settled.applied or settled.late:
        out.anomalies.append(f"settle of {hold.id}: {settled}")


async def _spend(ledger: _Ledger, key: str, steps: Sequence[Step], owner: str, out: Outcome) -> None:
    """One task of a capped phase: reserve each step's amount, make the "call", settle or release."""
    for step in steps:
        try:
            hold = await asyncio.to_thread(ledger.reserve, [key], from_nano(step.amount), ttl_s=TTL_S, owner=owner)
        except BudgetExceededError as refused:
            out.refused += 1
            state = refused.line
            if state is not None and state.cap is not None and state.cap - state.spent - state.reserved >= step.amount:
                out.false_refusals.append((step.amount, state.cap, state.spent, state.reserved))
            continue
        out.granted += 1
        await asyncio.sleep(step.call_s)
        await _finish(ledger, hold, None if step.fails else step.actual, out)


async def _pairs(ledger: _Ledger, key: str, count: int, owner: str, out: Outcome) -> None:
    """One task of a throughput phase: ``count`` reserve+settle pairs, each timed."""
    amount = from_nano(THROUGHPUT_AMOUNT)
    for _ in range(count):
        begun = time.perf_counter()
        hold = await asyncio.to_thread(ledger.reserve, [key], amount, ttl_s=TTL_S, owner=owner)
        out.granted += 1
        await _finish(ledger, hold, THROUGHPUT_AMOUNT, out)
        out.latencies.append(time.perf_counter() - begun)


async def _phase(spec: WorkerSpec, phase: Phase, ledger: _Ledger) -> Outcome:
    """Run this process's T tasks of ``phase`` together."""
    p = spec.params
    owners = [f"{phase.name}/p{spec.index}/t{task}" for task in range(p.tasks)]
    out = Outcome()
    if phase.kind == "throughput":
        jobs = [_pairs(ledger, phase.key, p.pairs, owner, out) for owner in owners]
    else:
        jobs = [
            _spend(ledger, phase.key, plan(p.seed, spec.index, task, p.rounds), owners[task], out)
            for task in range(p.tasks)
        ]
    out.started = time.time()
    await asyncio.gather(*jobs)
    out.ended = time.time()
    return out


def _worker(spec: WorkerSpec, barrier: Barrier, results: Queue[tuple[int, str, Outcome | str]]) -> None:
    """A worker process: every phase in turn, each started with all others at the barrier."""
    engine: Engine | None = None
    try:
        engine = _engine(spec.url, spec.pool_size)
        naive = NaiveLedger(engine)
        ledgers: dict[LedgerName, _Ledger] = {
            "batched": SqlLedger(engine),
            "statement": SqlLedger(engine, batch=False),
            "naive": naive,
        }
        with asyncio.Runner() as runner:
            runner.get_loop().set_default_executor(ThreadPoolExecutor(max_workers=spec.params.tasks))
            for phase in spec.phases:
                barrier.wait(TIMEOUT_S)
                out = runner.run(_phase(spec, phase, ledgers[phase.ledger]))
                out.overcommits, naive.overcommits = naive.overcommits, []
                results.put((spec.index, phase.name, out))
    except BaseException:
        barrier.abort()
        results.put((spec.index, "error", traceback.format_exc()))
    finally:
        if engine is not None:
            engine.dispose()


# -- coordinator ------------------------------------------------------------------------------------


def _run_workers(url: str, params: Params, processes: int, phases: tuple[Phase, ...]) -> dict[str, list[Outcome]]:
    """Start the worker processes, gather every phase's outcomes, and make sure they are gone."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results: Queue[tuple[int, str, Outcome | str]] = ctx.Queue()
    pool_size = params.pool_size or max(1, min(params.tasks, CONNECTIONS // processes))
    specs = [WorkerSpec(index=i, url=url, params=params, pool_size=pool_size, phases=phases) for i in range(processes)]
    workers = [ctx.Process(target=_worker, args=(spec, barrier, results)) for spec in specs]
    for worker in workers:
        worker.start()
    try:
        return _gather(results, workers, phases)
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join()


def _gather(
    results: Queue[tuple[int, str, Outcome | str]], workers: Sequence[BaseProcess], phases: tuple[Phase, ...]
) -> dict[str, list[Outcome]]:
    outcomes: dict[str, list[Outcome]] = {phase.name: [] for phase in phases}
    expected = len(workers) * len(phases)
    while sum(map(len, outcomes.values())) < expected:
        try:
            index, name, out = results.get(timeout=TIMEOUT_S)
        except queue.Empty:
            raise RuntimeError(f"no word from the workers for {TIMEOUT_S:.0f} s") from None
        if isinstance(out, str):
            raise RuntimeError(f"worker {index} failed:\n{out}")
        outcomes[name].append(out)
    return outcomes


def _phases(params: Params, processes: int) -> tuple[Phase, ...]:
    """The phases of one process count: the capped proofs, then the throughput runs, the ledgers taking turns."""
    tag = f"p{processes}"
    capped = tuple(
        Phase(name=f"capped-{name}-{tag}", kind="capped", ledger=name, key=month_line(f"bench-{name}-{tag}", "2000-01"))
        for name in (*LEDGERS, "naive")
    )
    runs = tuple(
        Phase(name=f"throughput-{name}-{tag}-{i}", kind="throughput", ledger=name, key=run_line(f"{name}-{tag}-{i}"))
        for i in range(1, params.repeats + 1)
        for name in LEDGERS
    )
    return capped + runs


def _holds(engine: Engine, phase: str) -> dict[str, tuple[int, int]]:
    """``{status: (holds, sum of actual)}`` of the holds ``phase``'s tasks took."""
    query = (
        select(_HOLDS.c.status, func.count(), func.coalesce(func.sum(_HOLDS.c.actual), 0))
        .where(_HOLDS.c.owner.startswith(f"{phase}/"))
        .group_by(_HOLDS.c.status)
    )
    with engine.connect() as conn:
        return {status: (int(n), int(total)) for status, n, total in conn.execute(query)}


def _accounting(state: LineState, outs: list[Outcome], holds: dict[str, tuple[int, int]] | None) -> dict[str, Any]:
    """Whether the line's sums are exactly what the clients were told was counted."""
    settled, released = sum(o.settled for o in outs), sum(o.released for o in outs)
    counted = sum(o.counted for o in outs)
    lost = state.spent != counted or state.reserved != 0
    if holds is not None:  # the holds table must hold exactly the clients' settled and released holds
        told = {"settled": (settled, counted), "released": (released, 0)}
        lost = lost or holds != {status: value for status, value in told.items() if value[0]}
    return {
        "granted": sum(o.granted for o in outs),
        "settled": settled,
        "released": released,
        "reserved_left_usd": from_nano(state.reserved),
        "unaccounted_usd": from_nano(state.spent - counted),
        "lost_writes": lost,
        "anomalies": sum(len(o.anomalies) for o in outs),
    }


def _capped(state: LineState, outs: list[Outcome], holds: dict[str, tuple[int, int]] | None) -> dict[str, Any]:
    cap = state.cap or 0
    report = {
        "cap_usd": from_nano(cap),
        "spent_usd": from_nano(state.spent),
        "overshoot_usd": from_nano(max(0, state.spent - cap)),
        "spent_share_of_cap": round(state.spent / cap, 6),
        "refused": sum(o.refused for o in outs),
        "false_refusals": sum(len(o.false_refusals) for o in outs),
        **_accounting(state, outs, holds),
    }
    examples = [example for o in outs for example in o.false_refusals][:5]
    if examples:
        report["false_refusal_examples"] = [
            dict(zip(("amount", "cap", "spent", "reserved"), e, strict=True)) for e in examples
        ]
    return report


def _naive(state: LineState, outs: list[Outcome]) -> dict[str, Any]:
    report = _capped(state, outs, None)
    overcommits = [o for out in outs for o in out.overcommits]
    del report["false_refusals"]  # it refuses on its own stale read, which always looks full
    return {
        "what": "BASELINE: check-then-record (SELECT, compare in Python, UPDATE); not escalade's ledger",
        **report,
        "overcommitted_grants": len(overcommits),
        "max_overcommit_usd": from_nano(max(overcommits, default=0)),
    }


def _throughput(state: LineState, outs: list[Outcome], holds: dict[str, tuple[int, int]]) -> dict[str, Any]:
    wall = max(o.ended for o in outs) - min(o.started for o in outs)
    latencies = sorted(s for o in outs for s in o.latencies)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    accounting = _accounting(state, outs, holds)
    return {
        "pairs": len(latencies),
        "wall_s": round(wall, 3),
        "pairs_per_s": round(len(latencies) / wall, 1),
        "latency_ms": {"p50": round(cuts[49] * 1000, 2), "p99": round(cuts[98] * 1000, 2)},
        "lost_writes": accounting["lost_writes"],
        "anomalies": accounting["anomalies"],
    }


def _ledger_report(
    engine: Engine, name: LedgerName, phases: tuple[Phase, ...], outcomes: dict[str, list[Outcome]]
) -> dict[str, Any]:
    """One real ledger's figures at one process count: the capped proof and the median throughput."""
    ledger = SqlLedger(engine)
    (capped,) = (p for p in phases if p.kind == "capped" and p.ledger == name)
    report = _capped(ledger.line(capped.key), outcomes[capped.name], _holds(engine, capped.name))
    runs = [
        _throughput(ledger.line(p.key), outcomes[p.name], _holds(engine, p.name))
        for p in phases
        if p.kind == "throughput" and p.ledger == name
    ]
    report["throughput_pairs_per_s"] = round(statistics.median(r["pairs_per_s"] for r in runs), 1)
    report["latency_ms"] = {q: round(statistics.median(r["latency_ms"][q] for r in runs), 2) for q in ("p50", "p99")}
    report["throughput_runs"] = runs
    report["passed"] = (
        report["overshoot_usd"] == 0
        and report["false_refusals"] == 0
        and not report["lost_writes"]
        and report["anomalies"] == 0
        and not any(r["lost_writes"] or r["anomalies"] for r in runs)
    )
    return report


def _report(engine: Engine, phases: tuple[Phase, ...], outcomes: dict[str, list[Outcome]]) -> dict[str, Any]:
    report: dict[str, Any] = {name: _ledger_report(engine, name, phases, outcomes) for name in LEDGERS}
    (naive,) = (p for p in phases if p.ledger == "naive")
    report["naive_baseline"] = _naive(SqlLedger(engine).line(naive.key), outcomes[naive.name])
    # Both ledgers ran the same work in turns, in one run: the ratio is the fair comparison.
    ratios = [
        b["pairs_per_s"] / s["pairs_per_s"]
        for b, s in zip(report["batched"]["throughput_runs"], report["statement"]["throughput_runs"], strict=True)
    ]
    report["batched_over_statement"] = round(statistics.median(ratios), 2)
    report["passed"] = all(report[name]["passed"] for name in LEDGERS)
    return report


def run_backend(url: str, params: Params) -> dict[str, Any]:
    """Every phase at every process count on the (empty) database at ``url``; the backend's report."""
    started = time.perf_counter()
    report: dict[str, Any] = {}
    with SqlStore(url) as store:  # migrates the empty database
        ledger = SqlLedger(store.engine)
        for processes in params.processes:
            bills, reserved = demand(params, processes)
            phases = _phases(params, processes)
            for phase in phases:
                ledger.open(phase.key, None if phase.kind == "throughput" else from_nano(math.floor(bills * CAP_SHARE)))
            outcomes = _run_workers(url, params, processes, phases)
            report[str(processes)] = {
                "demand_usd": from_nano(bills),
                "requested_usd": from_nano(reserved),
                **_report(store.engine, phases, outcomes),
            }
    return {
        "processes": report,
        "passed": all(r["passed"] for r in report.values()),
        "seconds": round(time.perf_counter() - started, 1),
    }


@contextmanager
def database(backend: str, postgres_url: str) -> Iterator[str]:
    """URL of a fresh database of ``backend``, removed afterwards."""
    if backend == "postgresql":
        with postgres_database(postgres_url, prefix="escalade_bench_budget") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as folder:
        yield f"sqlite:///{folder}/budget.db"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.budget_concurrency", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument(
        "--processes", type=_counts, default=(1, 4, 8), help="process counts, comma-separated (default: 1,4,8)"
    )
    parser.add_argument("--tasks", type=int, default=50, help="concurrent tasks per process")
    parser.add_argument("--rounds", type=int, default=25, help="planned calls per task (capped phases)")
    parser.add_argument("--pairs", type=int, default=15, help="reserve+settle pairs per task (throughput)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs (the median is reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pool-size", type=int, help=f"connections per process (default: {CONNECTIONS} / processes)")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, help="server to create the bench database on")
    args = parser.parse_args(argv)
    for name in ("tasks", "rounds", "pairs", "repeats", "pool_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _counts(text: str) -> tuple[int, ...]:
    """``1,4,8`` as ``(1, 4, 8)``: process counts, each at least 1."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not counts or min(counts) < 1 or max(counts) > CONNECTIONS:
        raise argparse.ArgumentTypeError(f"each process count must be between 1 and {CONNECTIONS}, got {text!r}")
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    params = Params(
        processes=args.processes,
        tasks=args.tasks,
        rounds=args.rounds,
        pairs=args.pairs,
        repeats=args.repeats,
        seed=args.seed,
        pool_size=args.pool_size,
    )
    started = time.perf_counter()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {}
    for backend in backends:
        try:
            with database(backend, args.postgres_url) as url:
                results[backend] = run_backend(url, params)
        except Exception as exc:  # report the failure in the JSON, then exit 1
            results[backend] = {"error": f"{type(exc).__name__}: {exc}", "passed": False}
    passed = all(r["passed"] for r in results.values())
    write_result(
        "budget_concurrency",
        {
            "parameters": {
                **asdict(params),
                "amount_range_usd": [from_nano(bound) for bound in AMOUNT_RANGE],
                "cap_share_of_demand": CAP_SHARE,
                "fail_share": FAIL_SHARE,
                "max_call_s": CALL_S,
                "ttl_s": TTL_S,
            },
            "seconds": round(time.perf_counter() - started, 1),
            "passed": passed,
            "backends": results,
        },
    )
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
