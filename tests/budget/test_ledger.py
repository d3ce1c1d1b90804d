"""The in-memory budget ledger and workspace budgets: exact caps, idempotent settlement, expiry, months."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalade.budget import MemoryLedger, WorkspaceBudget, from_nano, month_line, request_line, run_line, to_nano
from escalade.exceptions import BudgetExceededError, ConfigError, StoreError


class Clock:
    """A settable Unix clock."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A clock that only moves when a test moves it."""
    return Clock()


@pytest.fixture
def ledger(clock: Clock) -> MemoryLedger:
    """A memory ledger with a $1 line ``a`` and an uncapped line ``b``."""
    book = MemoryLedger(clock=clock)
    book.open("a", 1.0)
    book.open("b", None)
    return book


def test_amounts_are_exact_nano_dollars() -> None:
    """Money is integer nano-dollars: 0.1 + 0.2 is exactly 0.3, and bounds round up, never down."""
    assert to_nano(0.1) + to_nano(0.2) == to_nano(0.3) == 300_000_000
    assert to_nano(1.5e-10) == 1  # a reservation is never rounded down to nothing
    assert to_nano(1.5e-10, up=False) == 0
    assert from_nano(to_nano(12.345678901)) == pytest.approx(12.345678901, abs=1e-9)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.01, 2e9])
def test_invalid_amounts_are_refused(ledger: MemoryLedger, bad: float) -> None:
    """An amount that is not a finite number >= 0 is a clear error, and nothing is held."""
    with pytest.raises(ConfigError, match="finite number of USD"):
        ledger.reserve(["a"], bad, ttl_s=60)
    assert ledger.line("a").reserved == 0


def test_reservation_errors_name_what_is_wrong(ledger: MemoryLedger) -> None:
    """No lines, a bad time-to-live and an unopened line are refused with what to fix."""
    with pytest.raises(ConfigError, match="at least one budget line"):
        ledger.reserve([], 0.1, ttl_s=60)
    with pytest.raises(ConfigError, match="ttl_s"):
        ledger.reserve(["a"], 0.1, ttl_s=0)
    with pytest.raises(StoreError, match="no budget line 'nope'"):
        ledger.reserve(["a", "nope"], 0.1, ttl_s=60)
    assert ledger.line("a").reserved == 0


def test_cap_is_exact(ledger: MemoryLedger) -> None:
    """A reservation that lands exactly on the cap is granted; one nano-dollar more is refused."""
    ledger.reserve(["a"], 0.6, ttl_s=60)
    ledger.reserve(["a"], 0.4, ttl_s=60)
    with pytest.raises(BudgetExceededError) as refused:
        ledger.reserve(["a"], 1e-9, ttl_s=60)
    assert refused.value.line is not None
    assert refused.value.line.left_usd == 0.0
    assert ledger.line("a").reserved == to_nano(1.0)


def test_all_lines_or_none(ledger: MemoryLedger) -> None:
    """A reservation refused by one line leaves every other line untouched."""
    ledger.reserve(["a"], 0.9, ttl_s=60)
    with pytest.raises(BudgetExceededError, match="budget 'a' refused"):
        ledger.reserve(["b", "a"], 0.2, ttl_s=60)
    assert ledger.line("b").reserved == 0
    hold = ledger.reserve(["b", "a"], 0.1, ttl_s=60)
    assert hold.keys == ("a", "b")
    assert ledger.line("b").reserved_usd == pytest.approx(0.1)


def test_settle_and_release_are_idempotent(ledger: MemoryLedger) -> None:
    """Settling twice counts once; releasing a settled hold changes nothing."""
    hold = ledger.reserve(["a", "b"], 0.5, ttl_s=60)
    first = ledger.settle(hold, 0.2)
    again = ledger.settle(hold, 0.2)
    assert (first.applied, again.applied) == (True, False)
    assert ledger.release(hold) is False
    state = ledger.line("a")
    assert state.spent_usd == pytest.approx(0.2)
    assert state.reserved == 0
    other = ledger.reserve(["a"], 0.3, ttl_s=60)
    assert ledger.release(other) is True
    assert ledger.release(other) is False
    assert ledger.line("a").reserved == 0


@pytest.mark.parametrize("bill", [None, float("nan"), -1.0])
def test_unknown_bill_counts_at_the_hold(ledger: MemoryLedger, bill: float | None) -> None:
    """An unknown or invalid bill is counted at the held amount, never as free or a refund."""
    hold = ledger.reserve(["a"], 0.25, ttl_s=60)
    settled = ledger.settle(hold, bill)
    assert settled.unknown
    assert settled.counted_usd == pytest.approx(0.25)
    assert ledger.line("a").spent_usd == pytest.approx(0.25)


def test_bill_above_the_hold_is_counted_and_flagged(ledger: MemoryLedger) -> None:
    """A bill above its hold (a wrong estimator) is counted in full and reported."""
    hold = ledger.reserve(["a"], 0.1, ttl_s=60)
    settled = ledger.settle(hold, 0.3)
    assert settled.over_hold
    assert ledger.line("a").spent_usd == pytest.approx(0.3)


def test_expired_holds_are_reclaimed(ledger: MemoryLedger, clock: Clock) -> None:
    """A crashed holder's hold stops blocking others once it expires: a refused reservation reclaims it."""
    ledger.reserve(["a"], 0.8, ttl_s=30, owner="crashed/item-1")
    with pytest.raises(BudgetExceededError):
        ledger.reserve(["a"], 0.5, ttl_s=30)
    clock.now += 31
    hold = ledger.reserve(["a"], 0.5, ttl_s=30)
    assert ledger.line("a").reserved == hold.amount
    assert [h.owner for h in ledger.holds(status="expired")] == ["crashed/item-1"]


def test_late_settlement_still_counts(ledger: MemoryLedger, clock: Clock) -> None:
    """A call that finishes after its hold was reclaimed still records its bill (spend is never lost)."""
    hold = ledger.reserve(["a"], 0.5, ttl_s=10)
    clock.now += 11
    assert ledger.reclaim_expired() == 1
    assert ledger.line("a").reserved == 0
    settled = ledger.settle(hold, 0.4)
    assert settled.late
    assert settled.applied
    assert ledger.line("a").spent_usd == pytest.approx(0.4)
    assert ledger.line("a").reserved == 0


def test_open_keeps_the_cap_and_set_cap_changes_it(ledger: MemoryLedger) -> None:
    """Opening an existing line leaves its cap alone; set_cap changes it and keeps what it counted."""
    ledger.settle(ledger.reserve(["a"], 0.5, ttl_s=60), 0.5)
    ledger.open("a", None)  # another process with no monthly limit must not lift the cap
    assert ledger.line("a").cap_usd == 1.0
    ledger.set_cap("a", 0.6)
    with pytest.raises(BudgetExceededError):
        ledger.reserve(["a"], 0.2, ttl_s=60)
    assert ledger.line("a").spent_usd == pytest.approx(0.5)


def test_line_keys() -> None:
    """Line keys name what they budget."""
    assert run_line("r1") == "run:r1"
    assert request_line("r1", "i7") == "request:r1:i7"
    assert month_line("acme", "2026-11") == "workspace:acme:month:2026-11"


@pytest.mark.parametrize(
    ("zone", "instant", "month"),
    [
        ("UTC", datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "2026-11"),
        ("Europe/Paris", datetime(2026, 11, 30, 23, 0, tzinfo=UTC), "2026-12"),  # already midnight in Paris
        ("America/Los_Angeles", datetime(2027, 1, 1, 5, 0, tzinfo=UTC), "2026-12"),  # still New Year's Eve
        ("Asia/Tokyo", datetime(2026, 12, 31, 15, 0, tzinfo=UTC), "2027-01"),
    ],
)
def test_months_follow_the_workspace_time_zone(zone: str, instant: datetime, month: str) -> None:
    """A workspace's month is its calendar month in its own time zone."""
    assert WorkspaceBudget(timezone=zone).month(instant) == month


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"monthly_limit_usd": 0.0}, "monthly_limit_usd"),
        ({"per_request_limit_usd": float("nan")}, "per_request_limit_usd"),
        ({"monthly_limit_usd": 1e10}, "monthly_limit_usd"),  # beyond what the ledger's integers hold
        ({"workspace": ""}, "workspace"),
    ],
)
def test_workspace_budget_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    """A bad workspace budget names the field at fault."""
    with pytest.raises(ConfigError, match=f"field '{field}'"):
        WorkspaceBudget(**kwargs)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    """A time without a zone cannot be placed in a month, so it is an error."""
    with pytest.raises(ConfigError, match="time zone"):
        WorkspaceBudget().month(datetime(2026, 11, 1))
