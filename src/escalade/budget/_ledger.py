"""The budget ledger: reserve before a call, settle after, release on failure; caps that hold exactly.

A ledger keeps **lines**, one per budget: a run (``run:<id>``), a request (``request:<run>:<item>``),
a workspace's calendar month (``workspace:<name>:month:<YYYY-MM>``). Each line has an optional cap
and two sums: *spent* (settled bills) and *reserved* (money set aside for calls in flight).

- :meth:`BudgetLedger.reserve` sets an amount aside on several lines at once, all or none. A line
  grants only if ``spent + reserved + amount <= cap`` at that instant, so concurrent callers (threads,
  processes, replicas sharing one database) can never jointly pass a cap: there is no
  check-then-record gap. A refusal names the line and what was left on it.
- :meth:`BudgetLedger.settle` replaces a hold by the real bill; :meth:`BudgetLedger.release` gives it
  back when the call failed without one. Both are idempotent, so ``finally`` blocks are safe.
- A hold carries an expiry. Holds of a crashed process stop blocking others once they expire:
  :meth:`BudgetLedger.reclaim_expired` returns them, and a reservation that would be refused
  reclaims expired holds first. A call that finishes after its hold was reclaimed still records its
  bill (a *late* settlement), so no spend is ever lost.

Amounts are kept as integer nano-dollars (10⁻⁹ USD), so sums are exact: a reservation rounds up,
never down, and ``spent + reserved <= cap`` is compared without floating-point drift.

:class:`MemoryLedger` serves one process; :class:`~escalade.store._ledger.SqlLedger` keeps the same
lines in SQLite or PostgreSQL with one conditional ``UPDATE`` per line, and decides the calls that
come in together in one transaction (:mod:`escalade.budget._batch`).

>>> ledger = MemoryLedger()
>>> ledger.open("run:r1", cap_usd=1.0)  # opening again keeps the cap; set_cap changes it
>>> hold = ledger.reserve(["run:r1"], 0.75, ttl_s=60)
>>> try:
...     ledger.reserve(["run:r1"], 0.5, ttl_s=60)
... except BudgetExceededError as refused:
...     print(refused.line.left_usd, refused.requested_usd)
0.25 0.5
>>> ledger.settle(hold, 0.25).counted_usd
0.25
>>> ledger.line("run:r1").left_usd
0.75
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escalade.exceptions import BudgetExceededError, ConfigError, StoreError
from escalade.ladder import MAX_USD

__all__ = [
    "NANO",
    "BudgetLedger",
    "Hold",
    "LineState",
    "MemoryLedger",
    "Settlement",
    "WorkspaceBudget",
    "check_reservation",
    "from_nano",
    "month_line",
    "refusal",
    "request_line",
    "run_line",
    "settlement_amount",
    "to_nano",
]

logger = logging.getLogger(__name__)

#: Nano-dollars per dollar: the ledger's unit.
NANO = 1_000_000_000

#: A hold's status: ``held`` until settled, released, or reclaimed after expiry (``expired``).
HoldStatus = Literal["held", "settled", "released", "expired"]


def to_nano(usd: float, *, up: bool = True) -> int:
    """``usd`` as integer nano-dollars, rounded up (reservations, bills) or down (caps).

    The float's shortest decimal form is scaled exactly, so ``0.3`` is 300,000,000 and not a unit more.
    """
    if not (math.isfinite(usd) and 0 <= usd <= MAX_USD):
        raise ConfigError(
            f"an amount must be a finite number of USD between 0 and {MAX_USD:,.0f}, got {usd!r}", field="amount_usd"
        )
    scaled = Decimal(repr(float(usd))) * NANO
    return int(scaled.to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR))


def from_nano(amount: int) -> float:
    """Integer nano-dollars as USD."""
    return amount / NANO


def run_line(run_id: str) -> str:
    """Key of a run's budget line."""
    return f"run:{run_id}"


def request_line(run_id: str, item_id: str) -> str:
    """Key of one request's (work item's) budget line."""
    return f"request:{run_id}:{item_id}"


def month_line(workspace: str, month: str) -> str:
    """Key of a workspace's budget line for ``month`` (``YYYY-MM``)."""
    return f"workspace:{workspace}:month:{month}"


@dataclass(frozen=True, kw_only=True)
class LineState:
    """One budget line as the ledger holds it (exact integer nano-dollars)."""

    key: str
    #: Cap in nano-dollars (``None``: no cap, the line only counts).
    cap: int | None
    spent: int
    reserved: int

    @property
    def cap_usd(self) -> float | None:
        return None if self.cap is None else from_nano(self.cap)

    @property
    def spent_usd(self) -> float:
        return from_nano(self.spent)

    @property
    def reserved_usd(self) -> float:
        return from_nano(self.reserved)

    @property
    def left_usd(self) -> float | None:
        """What could still be reserved (``None`` without a cap)."""
        return None if self.cap is None else from_nano(max(self.cap - self.spent - self.reserved, 0))


def refusal(state: LineState, amount: int) -> BudgetExceededError:
    """The error for a refused reservation of ``amount`` nano-dollars on ``state``."""
    cap = state.cap or 0
    left = max(cap - state.spent - state.reserved, 0)
    return BudgetExceededError(
        f"budget {state.key!r} refused ${from_nano(amount):.6f}: cap ${from_nano(cap):.6f}, "
        f"spent ${state.spent_usd:.6f}, reserved ${state.reserved_usd:.6f}, left ${from_nano(left):.6f}",
        line=state,
        requested_usd=from_nano(amount),
    )


@dataclass(frozen=True, kw_only=True)
class Hold:
    """Money set aside on some lines for one call."""

    #: Unique id (a UUID).
    id: str
    #: Lines the amount is held on.
    keys: tuple[str, ...]
    #: Amount held on each line, in nano-dollars.
    amount: int
    #: Unix time after which the hold may be reclaimed.
    expires_at: float
    #: Who holds it (free text, e.g. ``run-x/item-7``), for audits of stale holds.
    owner: str = ""

    @property
    def amount_usd(self) -> float:
        return from_nano(self.amount)


@dataclass(frozen=True, kw_only=True)
class Settlement:
    """What settling a hold did."""

    #: USD counted as spent (the bill; the held amount when the bill was unknown).
    counted_usd: float
    #: False when the hold was already settled or released (nothing changed).
    applied: bool
    #: The hold had expired and been reclaimed; the bill was still added to spent.
    late: bool = False
    #: The bill was above the held amount (the estimate was not an upper bound).
    over_hold: bool = False
    #: The bill was unknown and counted at the held amount.
    unknown: bool = False


@runtime_checkable
class BudgetLedger(Protocol):
    """Exact, shared budget accounting; see the module docstring."""

    #: Whether calls block on I/O (callers in an event loop run them in a thread).
    blocking: bool

    def open(self, key: str, cap_usd: float | None) -> None:
        """Create line ``key`` with ``cap_usd``; an existing line keeps its cap (see :meth:`set_cap`)."""
        ...

    def set_cap(self, key: str, cap_usd: float | None) -> None:
        """Give line ``key`` a new cap (creating it if needed); what it counted stays."""
        ...

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold:
        """Hold ``amount_usd`` on every line of ``keys`` or on none; raise ``BudgetExceededError`` if refused."""
        ...

    def settle(self, hold: Hold, actual_usd: float | None) -> Settlement:
        """Replace ``hold`` by the bill ``actual_usd`` (``None``: unknown, counted at the held amount)."""
        ...

    def release(self, hold: Hold) -> bool:
        """Give ``hold`` back (its call failed without a bill); whether anything changed."""
        ...

    def reclaim_expired(self) -> int:
        """Return expired holds to their lines; the number reclaimed."""
        ...

    def line(self, key: str) -> LineState:
        """The current state of line ``key``; raises ``StoreError`` if there is none."""
        ...


def check_reservation(keys: Sequence[str], amount_usd: float, ttl_s: float) -> tuple[tuple[str, ...], int]:
    """Validated ``(sorted unique keys, amount in nano-dollars)`` of a reservation."""
    if not keys:
        raise ConfigError("a reservation needs at least one budget line", field="keys")
    if not (math.isfinite(ttl_s) and ttl_s > 0):
        raise ConfigError(f"ttl_s must be a finite number of seconds > 0, got {ttl_s!r}", field="ttl_s")
    return tuple(sorted(set(keys))), to_nano(amount_usd)


def settlement_amount(hold: Hold, actual_usd: float | None) -> tuple[int, bool]:
    """``(nano-dollars to count, unknown)`` for a bill; an unknown or invalid bill counts as the hold."""
    if actual_usd is None or not (math.isfinite(actual_usd) and actual_usd >= 0):
        return hold.amount, True
    return to_nano(actual_usd), False


@dataclass
class _Line:
    cap: int | None
    spent: int = 0
    reserved: int = 0


@dataclass
class _HoldRecord:
    hold: Hold
    status: HoldStatus = "held"
    actual: int | None = None


class MemoryLedger:
    """A ledger in this process's memory, safe across threads and coroutines.

    ``clock`` returns Unix time (injectable for tests of expiry).
    """

    blocking = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._lines: dict[str, _Line] = {}
        self._holds: dict[str, _HoldRecord] = {}

    def open(self, key: str, cap_usd: float | None) -> None:
        cap = None if cap_usd is None else to_nano(cap_usd, up=False)
        with self._lock:
            self._lines.setdefault(key, _Line(cap))

    def set_cap(self, key: str, cap_usd: float | None) -> None:
        cap = None if cap_usd is None else to_nano(cap_usd, up=False)
        with self._lock:
            self._lines.setdefault(key, _Line(cap)).cap = cap

    def _state(self, key: str) -> LineState:
        found = self._lines.get(key)
        if found is None:
            raise StoreError(f"no budget line {key!r}: open it before reserving on it")
        return LineState(key=key, cap=found.cap, spent=found.spent, reserved=found.reserved)

    def line(self, key: str) -> LineState:
        with self._lock:
            return self._state(key)

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold:
        lines, amount = check_reservation(keys, amount_usd, ttl_s)
        with self._lock:
            refused = self._refused(lines, amount)
            if refused is not None and self._reclaim_locked():
                refused = self._refused(lines, amount)
            if refused is not None:
                logger.debug("refused: %s", refused)
                raise refused
            for key in lines:
                self._lines[key].reserved += amount
            hold = Hold(id=str(uuid.uuid4()), keys=lines, amount=amount, expires_at=self._clock() + ttl_s, owner=owner)
            self._holds[hold.id] = _HoldRecord(hold)
        logger.debug("hold %s: $%.9f reserved on %s", hold.id, hold.amount_usd, ", ".join(lines))
        return hold

    def _refused(self, lines: Iterable[str], amount: int) -> BudgetExceededError | None:
        for key in lines:
            state = self._state(key)
            if state.cap is not None and state.spent + state.reserved + amount > state.cap:
                return refusal(state, amount)
        return None

    def settle(self, hold: Hold, actual_usd: float | None) -> Settlement:
        counted, unknown = settlement_amount(hold, actual_usd)
        with self._lock:
            record = self._holds.get(hold.id)
            if record is None or record.status in ("settled", "released"):
                return Settlement(counted_usd=from_nano(counted), applied=False, unknown=unknown)
            late = record.status == "expired"
            for key in hold.keys:
                line = self._lines[key]
                line.spent += counted
                if not late:
                    line.reserved -= hold.amount
            record.status, record.actual = "settled", counted
        logger.debug("hold %s settled: $%.9f counted%s", hold.id, from_nano(counted), " (late)" if late else "")
        return Settlement(
            counted_usd=from_nano(counted), applied=True, late=late, over_hold=counted > hold.amount, unknown=unknown
        )

    def release(self, hold: Hold) -> bool:
        with self._lock:
            record = self._holds.get(hold.id)
            if record is None or record.status != "held":
                return False
            for key in hold.keys:
                self._lines[key].reserved -= hold.amount
            record.status = "released"
        logger.debug("hold %s released", hold.id)
        return True

    def reclaim_expired(self) -> int:
        with self._lock:
            return self._reclaim_locked()

    def _reclaim_locked(self) -> int:
        now = self._clock()
        stale = [r for r in self._holds.values() if r.status == "held" and r.hold.expires_at <= now]
        for record in stale:
            for key in record.hold.keys:
                self._lines[key].reserved -= record.hold.amount
            record.status = "expired"
        if stale:
            logger.info("reclaimed %d expired budget hold(s)", len(stale))
        return len(stale)

    def holds(self, *, status: HoldStatus | None = None) -> list[Hold]:
        """Holds known to this ledger (optionally only those with ``status``)."""
        with self._lock:
            return [r.hold for r in self._holds.values() if status is None or r.status == status]


@dataclass(frozen=True, kw_only=True)
class WorkspaceBudget:
    """A workspace's standing limits: a calendar-month cap and a per-request cap.

    Months are counted in the workspace's ``timezone`` (an IANA name): a workspace in
    ``America/Los_Angeles`` starts December at 08:00 UTC on 1 December.

    >>> from datetime import UTC, datetime
    >>> wb = WorkspaceBudget(workspace="acme", monthly_limit_usd=50.0, timezone="America/Los_Angeles")
    >>> wb.month_line(datetime(2026, 12, 1, 7, 59, tzinfo=UTC)), wb.month_line(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    ('workspace:acme:month:2026-11', 'workspace:acme:month:2026-12')
    """

    #: Workspace name.
    workspace: str = "default"
    #: Cap on a calendar month's spend in USD (``None``: counted, not capped).
    monthly_limit_usd: float | None = None
    #: Cap on one request's spend (a work item, every tier and retry included; ``None``: no cap).
    per_request_limit_usd: float | None = None
    #: IANA time zone the months are counted in.
    timezone: str = "UTC"
    _zone: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.workspace or len(self.workspace) > 100:
            raise ConfigError("workspace must be 1 to 100 characters", field="workspace")
        for name in ("monthly_limit_usd", "per_request_limit_usd"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0 < value <= MAX_USD):
                raise ConfigError(
                    f"must be a finite number of USD > 0 and at most {MAX_USD:,.0f}, or none; got {value!r}", field=name
                )
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"unknown time zone {self.timezone!r}: use an IANA name such as 'Europe/Paris' or 'UTC'",
                field="timezone",
            ) from None
        object.__setattr__(self, "_zone", zone)

    def month(self, now: datetime) -> str:
        """``YYYY-MM`` of ``now`` (an aware datetime) in the workspace's time zone."""
        if now.tzinfo is None:
            raise ConfigError("the time must carry a time zone", field="now")
        return f"{now.astimezone(self._zone):%Y-%m}"

    def month_line(self, now: datetime) -> str:
        """Key of the month line ``now`` falls in."""
        return month_line(self.workspace, self.month(now))
