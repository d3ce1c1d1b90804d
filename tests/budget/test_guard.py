"""The budget guard: abort, warn, approval; spend never passes max_cost when aborting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from escalade.budget import ApprovalRequest, BudgetGuard, Hold, MemoryLedger, Settlement, WorkspaceBudget
from escalade.cascade import ProgressiveExecutor, ProgressiveWorkflowResult, WorkItem
from escalade.exceptions import ApprovalDeniedError, BudgetExceededError, BudgetUnavailableError, StoreError
from escalade.ladder import EscalationConfig
from escalade.providers import CompletionRequest, CostEstimate, FunctionProvider, ScriptedProvider
from escalade.quality import FailureAnalysis, ScoringContext
from tests.conftest import ladder


def fail_all(ctx: ScoringContext) -> FailureAnalysis:
    return FailureAnalysis(test_pass_rate=0.0)


def config(**changes: object) -> EscalationConfig:
    base = EscalationConfig(
        tiers=ladder(("cheap", ("a", "b"), 50.0, 2), ("premium", ("p",), 90.0, 1)), auto_approve_under=None
    )
    return base.replace(**changes)


def provider(delay: float = 0.0) -> ScriptedProvider:
    return ScriptedProvider(
        {"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call={"a": 0.01, "b": 0.02, "p": 0.5}, delay_s=delay
    )


def work(n: int) -> list[WorkItem]:
    return [WorkItem(id=f"i{k}", prompt="t") for k in range(n)]


def test_abort_stops_run_within_cap() -> None:
    """With aborting on, the run stops before passing max_cost and carries the partial result."""
    with pytest.raises(BudgetExceededError, match=r"above max_cost \$1\.00") as info:
        ProgressiveExecutor(config(max_cost=1.0), provider(), scorer=fail_all).run_sync(work(5))
    partial = info.value.partial_result
    assert partial is not None
    assert partial.status == "aborted"
    assert partial.total_cost <= 1.0
    assert {i.status for i in partial.items} <= {"unresolved", "stopped", "not_run"}
    assert any(i.status in {"stopped", "not_run"} for i in partial.items)


@settings(max_examples=60, deadline=None)
@given(
    costs=st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=3, max_size=3),
    cap=st.floats(min_value=0.01, max_value=5.0),
    n=st.integers(min_value=1, max_value=12),
    concurrency=st.integers(min_value=1, max_value=6),
)
@example(costs=[1.3978533471747157e-174, 1.3978533471747157e-174, 2.225073858507e-311], cap=1.0, n=9, concurrency=1)
def test_spend_never_exceeds_cap(costs: list[float], cap: float, n: int, concurrency: int) -> None:
    """For any call costs, cap, item count and concurrency, spent ≤ max_cost when aborting."""
    prices = dict(zip("abp", costs, strict=True))
    prov = ScriptedProvider({"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call=prices)
    ex = ProgressiveExecutor(config(max_cost=cap, max_concurrency=concurrency), prov, scorer=fail_all)
    try:
        result = ex.run_sync(work(n))
    except BudgetExceededError as exc:
        partial = exc.partial_result
        if partial is None:
            raise
        result = partial
    assert result.total_cost <= cap + 1e-9
    # the ledger counts bills in whole nano-dollars, rounded up: at most one nano-dollar more per bill
    # (plus float rounding of that bound: 27 bills of 1e-174 came to 2.7000000000000004e-08)
    assert sum(prices[r.model] for r in prov.requests) == pytest.approx(
        result.total_cost, abs=1e-9 * len(prov.requests) * (1 + 1e-9)
    )


def test_warn_mode_continues_and_records() -> None:
    """When not aborting, the run goes on past the cap and records a warning once."""
    result = ProgressiveExecutor(
        config(max_cost=0.1, abort_on_budget_exceeded=False, warn_on_budget_exceeded=True),
        provider(),
        scorer=fail_all,
    ).run_sync(work(3))
    assert result.status == "completed"
    assert result.total_cost > 0.1
    assert len(result.warnings) == 1
    assert "budget exceeded" in result.warnings[0]


def test_silent_mode_continues_without_warning() -> None:
    """Neither aborting nor warning: the run completes and records nothing."""
    result = ProgressiveExecutor(
        config(max_cost=0.1, abort_on_budget_exceeded=False), provider(), scorer=fail_all
    ).run_sync(work(2))
    assert result.total_cost > 0.1
    assert result.warnings == ()


def test_approval_asked_once_when_crossing_limit() -> None:
    """Crossing auto_approve_under asks the callback once, with the figures; approving continues."""
    asked: list[ApprovalRequest] = []

    def approve(request: ApprovalRequest) -> bool:
        asked.append(request)
        return True

    result = ProgressiveExecutor(
        config(auto_approve_under=0.6, max_cost=None), provider(), scorer=fail_all, approval=approve
    ).run_sync(work(3))
    assert result.status == "completed"
    assert len(asked) == 1
    req = asked[0]
    assert req.auto_approve_under == 0.6
    assert not req.single_call
    assert req.spent_usd + req.reserved_usd + req.next_call_usd > 0.6
    assert req.spent_usd + req.reserved_usd <= 0.6


def test_each_call_above_the_limit_is_asked_about() -> None:
    """A call whose worst case alone is above auto_approve_under waits for approval every time."""
    asked: list[ApprovalRequest] = []

    def approve(request: ApprovalRequest) -> bool:
        asked.append(request)
        return True

    result = ProgressiveExecutor(
        config(auto_approve_under=0.3, max_cost=None), provider(), scorer=fail_all, approval=approve
    ).run_sync(work(2))
    assert result.status == "completed"
    assert [(r.next_call_usd, r.single_call, r.tier) for r in asked] == [(0.5, True, "premium")] * 2


def test_async_approval_and_denial() -> None:
    """An async callback works; a refusal stops the run with ApprovalDeniedError."""

    async def deny(request: ApprovalRequest) -> bool:
        await asyncio.sleep(0)
        return False

    with pytest.raises(ApprovalDeniedError, match="not approved") as info:
        ProgressiveExecutor(config(auto_approve_under=0.05), provider(), scorer=fail_all, approval=deny).run_sync(
            work(3)
        )
    assert info.value.partial_result is not None
    assert info.value.partial_result.total_cost <= 0.05


def test_no_callback_fails_closed() -> None:
    """Without an approval callback, spending past auto_approve_under is refused."""
    with pytest.raises(ApprovalDeniedError, match="needs approval"):
        ProgressiveExecutor(config(auto_approve_under=0.0), provider(), scorer=fail_all).run_sync(work(1))


def test_under_the_limit_no_approval_needed() -> None:
    """Runs that stay under auto_approve_under never ask."""

    def never(request: ApprovalRequest) -> bool:
        raise AssertionError("asked")

    result = ProgressiveExecutor(config(auto_approve_under=5.0), provider(), scorer=fail_all, approval=never).run_sync(
        work(2)
    )
    assert result.status == "completed"


def test_guard_settle_and_release() -> None:
    """Settling swaps a reservation for the bill; releasing gives it back; overruns are flagged."""

    async def scenario() -> BudgetGuard:
        guard = BudgetGuard(config(max_cost=1.0))
        first = await guard.reserve(0.4, tier="cheap", item_id="x")
        second = await guard.reserve(0.4, tier="cheap", item_id="y")
        assert guard.reserved_usd == pytest.approx(0.8)
        await guard.settle(first, 0.1)
        await guard.release(second)
        assert guard.spent_usd == pytest.approx(0.1)
        assert guard.reserved_usd == pytest.approx(0.0)
        third = await guard.reserve(0.2, tier="cheap", item_id="z")
        await guard.settle(third, 0.5)  # a provider billed more than its bound
        with pytest.raises(BudgetExceededError):
            await guard.reserve(0.5, tier="cheap", item_id="w")
        return guard

    guard = asyncio.run(scenario())
    assert guard.spent_usd == pytest.approx(0.6)
    assert guard.stopped
    assert any("more than its reserved bound" in w for w in guard.warnings)


class _Fixed:
    """Estimator returning one fixed bound."""

    def __init__(self, bound: float) -> None:
        self.bound = bound

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=self.bound, max_usd=self.bound)


@pytest.mark.parametrize("bound", [float("nan"), float("inf"), -0.01])
def test_invalid_estimates_stop_the_run(bound: float) -> None:
    """An estimate that is not a finite amount >= 0 stops the run before any call (fail closed)."""
    prov = provider()
    ex = ProgressiveExecutor(config(max_cost=1.0), prov, scorer=fail_all, estimator=_Fixed(bound))
    with pytest.raises(BudgetExceededError, match="not a finite amount"):
        ex.run_sync(work(2))
    assert prov.requests == []


@pytest.mark.parametrize("billed", [float("nan"), -5.0])
def test_invalid_bills_count_at_the_bound(billed: float) -> None:
    """A provider bill that is NaN or negative is counted at the reserved bound, never as a refund."""
    prov = ScriptedProvider({"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call=billed)
    ex = ProgressiveExecutor(config(max_cost=None), prov, scorer=fail_all, estimator=_Fixed(0.01))
    result = ex.run_sync(work(1))
    assert result.total_cost == pytest.approx(0.03)
    assert any("counted at its reserved bound" in w for w in result.warnings)


def test_underestimate_stops_the_run_once_cap_is_passed() -> None:
    """A bill above its bound is counted in full and stops the run once spend passes the cap."""
    prov = ScriptedProvider({"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call=0.04)
    ex = ProgressiveExecutor(
        config(max_cost=0.05, max_concurrency=1),
        prov,
        scorer=fail_all,
        estimator=_Fixed(0.01),
    )
    with pytest.raises(BudgetExceededError, match="cost more than its estimate") as info:
        ex.run_sync(work(3))
    partial = info.value.partial_result
    assert partial is not None
    assert len(prov.requests) == 2  # stopped right after the call that passed the cap
    assert partial.total_cost == pytest.approx(0.08)
    assert any("more than its reserved bound" in w for w in partial.warnings)


def test_cap_warning_is_not_hidden_by_other_warnings() -> None:
    """In warn mode the budget warning is recorded even when another warning came first."""
    prov = ScriptedProvider({"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call=float("nan"))
    result = ProgressiveExecutor(
        config(max_cost=0.02, abort_on_budget_exceeded=False, warn_on_budget_exceeded=True),
        prov,
        scorer=fail_all,
        estimator=_Fixed(0.01),
    ).run_sync(work(2))
    assert sum("budget exceeded" in w for w in result.warnings) == 1


def test_failing_approval_callback_is_a_refusal() -> None:
    """An approval callback that raises stops the run like a refusal."""

    def broken(request: ApprovalRequest) -> bool:
        raise EOFError("no input")

    with pytest.raises(ApprovalDeniedError, match="approval callback failed"):
        ProgressiveExecutor(config(auto_approve_under=0.0), provider(), scorer=fail_all, approval=broken).run_sync(
            work(2)
        )


def pass_easy(ctx: ScoringContext) -> FailureAnalysis:
    """Item "easy" scores 100, every other item 0."""
    return FailureAnalysis(test_pass_rate=1.0 if ctx.item_id == "easy" else 0.0, weights={"test_pass_rate": 1.0})


def month_keys(ledger: MemoryLedger) -> set[str]:
    """Keys of the workspace month lines the ledger's holds were taken on."""
    return {key for hold in ledger.holds() for key in hold.keys if key.startswith("workspace:")}


def run_totals(outcomes: list[ProgressiveWorkflowResult | BaseException]) -> list[float]:
    """What each run spent, whether it completed or was stopped by a budget (with its partial result)."""
    totals = []
    for outcome in outcomes:
        result = outcome.partial_result if isinstance(outcome, BudgetExceededError) else outcome
        assert isinstance(result, ProgressiveWorkflowResult), outcome
        totals.append(result.total_cost)
    return totals


def test_per_request_cap_ends_only_that_item() -> None:
    """An item whose climb could pass per_request_limit_usd stops with its best answer; the others and the run go on."""
    ledger = MemoryLedger()
    prov = provider()
    ex = ProgressiveExecutor(
        config(max_cost=10.0),
        prov,
        scorer=pass_easy,
        ledger=ledger,
        workspace_budget=WorkspaceBudget(workspace="acme", per_request_limit_usd=0.05),
    )
    result = ex.run_sync([WorkItem(id="hard", prompt="t"), WorkItem(id="easy", prompt="t")], run_id="r1")
    assert result.status == "completed"
    hard, easy = result.items
    assert (hard.status, hard.final_tier, hard.final_model, hard.final_answer) == ("unresolved", "cheap", "b", "y")
    assert hard.error is not None
    assert "could pass the per-request cap $0.05 (spent $0.030000)" in hard.error
    assert (easy.status, easy.final_model) == ("accepted", "a")
    assert [(r.item_id, r.model) for r in prov.requests if r.model == "p"] == []
    assert ledger.line("request:r1:hard").spent_usd == pytest.approx(0.03)
    assert ledger.line("request:r1:easy").spent_usd == pytest.approx(0.01)
    assert ledger.line("run:r1").spent_usd == pytest.approx(result.total_cost) == pytest.approx(0.04)


def test_monthly_cap_stops_the_run_naming_the_month_line() -> None:
    """Once the workspace's month line cannot take the next call, the run stops with an error naming that line."""
    ledger = MemoryLedger()
    ex = ProgressiveExecutor(
        config(max_cost=10.0, max_concurrency=1),
        provider(),
        scorer=fail_all,
        ledger=ledger,
        workspace_budget=WorkspaceBudget(workspace="acme", monthly_limit_usd=0.05),
    )
    with pytest.raises(BudgetExceededError, match=r"budget 'workspace:acme:month:\d{4}-\d{2}' refused \$0\.5") as info:
        ex.run_sync(work(3), run_id="r1")
    partial = info.value.partial_result
    assert partial is not None
    assert [i.status for i in partial.items] == ["stopped", "not_run", "not_run"]
    (month,) = month_keys(ledger)
    line = ledger.line(month)
    assert line.spent_usd == pytest.approx(partial.total_cost)
    assert line.reserved_usd == 0.0
    assert partial.total_cost == pytest.approx(0.03)


def test_new_month_in_the_workspace_time_zone_starts_a_fresh_line() -> None:
    """At 00:30 on 1 December in Paris (still November in UTC) reservations go to a new month line with the full cap."""
    ledger = MemoryLedger()
    workspace = WorkspaceBudget(workspace="acme", monthly_limit_usd=1.0, timezone="Europe/Paris")
    clock = [datetime(2026, 11, 30, 22, 30, tzinfo=UTC)]  # 23:30 in Paris
    guard = BudgetGuard(config(max_cost=None), run_id="r1", ledger=ledger, workspace=workspace, now=lambda: clock[0])

    async def spend(amount: float) -> Hold:
        reservation = await guard.reserve(amount, tier="cheap", item_id="x")
        await guard.settle(reservation, amount)
        return reservation.hold

    async def scenario() -> tuple[Hold, Hold]:
        november = await spend(1.0)
        clock[0] = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 December in Paris
        december = await spend(1.0)
        with pytest.raises(BudgetExceededError, match="budget 'workspace:acme:month:2026-12' refused"):
            await spend(0.01)
        return november, december

    november, december = asyncio.run(scenario())
    assert november.keys == ("run:r1", "workspace:acme:month:2026-11")
    assert december.keys == ("run:r1", "workspace:acme:month:2026-12")
    assert ledger.line("workspace:acme:month:2026-11").left_usd == 0.0
    assert ledger.line("workspace:acme:month:2026-12").spent_usd == 1.0
    assert ledger.line("run:r1").spent_usd == 2.0


def test_runs_sharing_a_ledger_never_jointly_pass_the_monthly_cap() -> None:
    """Two concurrent runs of one workspace on one ledger spend at most its monthly cap together."""
    ledger = MemoryLedger()
    workspace = WorkspaceBudget(workspace="acme", monthly_limit_usd=0.2)
    prices = {"a": 0.01, "b": 0.02, "p": 0.05}

    async def both() -> list[ProgressiveWorkflowResult | BaseException]:
        runs = [
            ProgressiveExecutor(
                config(max_cost=None, max_concurrency=3),
                ScriptedProvider({"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call=prices, delay_s=0.001),
                scorer=fail_all,
                ledger=ledger,
                workspace_budget=workspace,
            ).run(work(4), run_id=run_id)
            for run_id in ("r1", "r2")
        ]
        return await asyncio.gather(*runs, return_exceptions=True)

    outcomes = asyncio.run(both())
    totals = run_totals(outcomes)
    refusals = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert refusals  # 8 items would cost $0.64: the cap binds
    assert all("workspace:acme:month:" in str(r) for r in refusals)
    assert all(total > 0 for total in totals)  # both runs spent
    (month,) = month_keys(ledger)
    line = ledger.line(month)
    assert line.spent_usd == pytest.approx(sum(totals))
    assert line.spent_usd <= 0.2 + 1e-9
    assert line.reserved_usd == 0.0


@settings(max_examples=40, deadline=None)
@given(
    costs=st.lists(st.floats(min_value=0.0, max_value=0.3, allow_nan=False), min_size=3, max_size=3),
    run_cap=st.floats(min_value=0.01, max_value=1.0),
    monthly_cap=st.floats(min_value=0.01, max_value=1.0),
    n=st.integers(min_value=1, max_value=6),
    concurrency=st.integers(min_value=1, max_value=4),
    runs=st.integers(min_value=1, max_value=2),
)
def test_spend_never_exceeds_run_or_monthly_cap(
    costs: list[float], run_cap: float, monthly_cap: float, n: int, concurrency: int, runs: int
) -> None:
    """For any costs, caps, concurrency and runs sharing a ledger: each run ≤ min(caps), all runs ≤ the month's cap."""
    prices = dict(zip("abp", costs, strict=True))
    ledger = MemoryLedger()
    workspace = WorkspaceBudget(workspace="acme", monthly_limit_usd=monthly_cap)

    async def run_all() -> list[ProgressiveWorkflowResult | BaseException]:
        executors = [
            ProgressiveExecutor(
                config(max_cost=run_cap, max_concurrency=concurrency),
                ScriptedProvider({"a": ["x"], "b": ["y"], "p": ["z"]}, cost_per_call=prices),
                scorer=fail_all,
                ledger=ledger,
                workspace_budget=workspace,
            )
            for _ in range(runs)
        ]
        return await asyncio.gather(
            *(ex.run(work(n), run_id=f"r{k}") for k, ex in enumerate(executors)), return_exceptions=True
        )

    totals = run_totals(asyncio.run(run_all()))
    assert all(total <= min(run_cap, monthly_cap) + 1e-9 for total in totals)
    assert sum(totals) <= monthly_cap + 1e-9
    month_spent = sum(ledger.line(key).spent_usd for key in month_keys(ledger))
    assert month_spent == pytest.approx(sum(totals))


class FlakyLedger(MemoryLedger):
    """A memory ledger whose database 'fails': ``failing`` names the operations that raise, and how often."""

    blocking = True  # as a database ledger: calls go through a worker thread

    def __init__(self, failing: dict[str, int], *, reserve_delay_s: float = 0.0) -> None:
        super().__init__()
        self.failing = dict(failing)
        self.reserve_delay_s = reserve_delay_s

    def _maybe_fail(self, operation: str) -> None:
        if self.failing.get(operation, 0) > 0:
            self.failing[operation] -= 1
            raise StoreError(f"budget ledger: connection refused during {operation}")

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold:
        self._maybe_fail("reserve")
        time.sleep(self.reserve_delay_s)
        return super().reserve(keys, amount_usd, ttl_s=ttl_s, owner=owner)

    def settle(self, hold: Hold, actual_usd: float | None) -> Settlement:
        self._maybe_fail("settle")
        return super().settle(hold, actual_usd)


def test_ledger_failure_on_reserve_stops_the_run_before_any_call() -> None:
    """A ledger that cannot be written stops the run (fail closed): nothing is sent unguarded."""
    prov = provider()
    executor = ProgressiveExecutor(config(), prov, scorer=fail_all, ledger=FlakyLedger({"reserve": 99}))
    with pytest.raises(BudgetUnavailableError, match="rather than spend unguarded: budget ledger: connection refused"):
        executor.run_sync(work(3))
    assert prov.requests == []


def test_settle_is_retried_when_the_ledger_blinks() -> None:
    """A settle that fails twice and then works is retried: the bill is recorded once."""
    ledger = FlakyLedger({"settle": 2})
    result = ProgressiveExecutor(config(), provider(), scorer=fail_all, ledger=ledger).run_sync(work(1))
    assert result.status == "completed"
    assert ledger.line(f"run:{result.run_id}").spent_usd == pytest.approx(result.total_cost)


def test_settle_that_keeps_failing_stops_the_run_and_keeps_the_cost() -> None:
    """A bill the ledger cannot record stops the run; the result still counts what was spent."""
    with pytest.raises(BudgetUnavailableError, match=r"could not record a \$0\.010000 bill") as info:
        ProgressiveExecutor(config(), provider(), scorer=fail_all, ledger=FlakyLedger({"settle": 99})).run_sync(work(1))
    partial = info.value.partial_result
    assert partial is not None
    assert partial.total_cost == pytest.approx(0.01)


def test_cancelled_reservation_is_given_back() -> None:
    """A caller cancelled while its reservation is being written waits for it and releases it."""
    ledger = FlakyLedger({}, reserve_delay_s=0.2)
    guard = BudgetGuard(config(max_cost=1.0), ledger=ledger, run_id="r")

    async def scenario() -> None:
        task = asyncio.create_task(guard.reserve(0.4, tier="cheap", item_id="x"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert ledger.line("run:r").reserved == 0
    assert [h.amount_usd for h in ledger.holds(status="released")] == [0.4]
    assert guard.reserved_usd == 0.0


def test_blocking_approval_does_not_stall_calls_in_flight() -> None:
    """A sync approval (a terminal prompt) waits in a thread: calls already in flight finish and settle meanwhile."""
    answered: list[float] = []

    async def slow(request: CompletionRequest) -> str:
        await asyncio.sleep(0.1)
        answered.append(time.monotonic())
        return "x"

    decided: list[float] = []

    def approve(request: ApprovalRequest) -> bool:
        time.sleep(0.5)  # a person thinking
        decided.append(time.monotonic())
        return True

    tiers = ladder(("cheap", ("a",), 0.0, 1))
    cfg = EscalationConfig(tiers=tiers, auto_approve_under=0.15, max_cost=None, max_concurrency=2)
    result = ProgressiveExecutor(
        cfg, FunctionProvider(slow, cost_per_call=0.1), estimator=_Fixed(0.1), approval=approve
    ).run_sync(work(2))
    assert result.status == "completed"
    assert answered[0] < decided[0]  # the first item's call came back while the second waited for approval
