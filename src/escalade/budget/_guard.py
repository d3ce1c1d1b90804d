"""The run's budget guard: reserve the worst case on the ledger before each call, settle the bill after.

Each call reserves its worst-case cost on the lines of a :class:`~escalade.budget._ledger.BudgetLedger`:

- the run (``run:<id>``), capped at ``max_cost`` when aborting is on;
- the request, i.e. the work item (``request:<run>:<item>``), when the workspace sets
  ``per_request_limit_usd``; a refusal there ends only that item
  (:class:`~escalade.exceptions.RequestBudgetExceededError`);
- the workspace's calendar month (``workspace:<name>:month:<YYYY-MM>``, in the workspace's time
  zone), when a :class:`~escalade.budget._ledger.WorkspaceBudget` is given; it is always fail-closed.

The ledger grants all lines or none, and a line grants only while ``spent + reserved + bound <= cap``,
so concurrent items, and with :class:`~escalade.store._ledger.SqlLedger` concurrent processes, can
never jointly pass a cap. Crossing ``auto_approve_under`` asks the approval callback once, and a
single call whose worst case alone is above it asks every time; a refusal, a callback that fails,
or no callback at all stops the run (fail closed). The guarantee
needs an estimator whose bound is a real upper bound (exact for replays); a bill above its bound is
counted, reported, and stops the run once the run's cap is passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeAlias, TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from escalade.budget._ledger import (
    NANO,
    BudgetLedger,
    Hold,
    MemoryLedger,
    WorkspaceBudget,
    request_line,
    run_line,
    settlement_amount,
)
from escalade.exceptions import (
    ApprovalDeniedError,
    BudgetExceededError,
    BudgetUnavailableError,
    RequestBudgetExceededError,
    StoreError,
)
from escalade.ladder import MAX_USD, EscalationConfig

__all__ = ["ApprovalCallback", "ApprovalRequest", "BudgetGuard", "Reservation"]

logger = logging.getLogger(__name__)

_EPS = 1e-12
#: Tries of a settle or release when the ledger's database fails (both are idempotent).
_LEDGER_WRITE_ATTEMPTS = 3
#: First wait before retrying a failed ledger write, in seconds (then doubled).
_LEDGER_RETRY_S = 0.1
_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest:
    """What the approval callback is asked to allow."""

    #: USD already spent by the run.
    spent_usd: float
    #: USD reserved by calls in flight.
    reserved_usd: float
    #: Worst-case cost of the call waiting for approval.
    next_call_usd: float
    #: The limit being crossed.
    auto_approve_under: float
    #: The run's hard cap (``None``: no cap); approving allows spending up to it.
    max_cost: float | None
    #: Tier of the waiting call.
    tier: str
    #: Item of the waiting call.
    item_id: str
    #: The call alone could cost more than the limit (such calls are asked about every time).
    single_call: bool = False


#: Decides an :class:`ApprovalRequest`; may be async.
ApprovalCallback: TypeAlias = Callable[[ApprovalRequest], "bool | Awaitable[bool]"]


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money set aside for one call."""

    amount_usd: float
    #: The ledger's hold behind it.
    hold: Hold


class BudgetGuard:
    """Reserve → settle/release accounting for one run, on a ledger shared with other runs."""

    def __init__(
        self,
        config: EscalationConfig,
        approval: ApprovalCallback | None = None,
        *,
        run_id: str = "run",
        ledger: BudgetLedger | None = None,
        workspace: WorkspaceBudget | None = None,
        hold_ttl_s: float = 900.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._approval = approval
        self._ledger: BudgetLedger = ledger if ledger is not None else MemoryLedger(clock=time.time)
        self._workspace = workspace
        self._ttl = hold_ttl_s
        self._now = now
        self._run_line = run_line(run_id)
        self._run_id = run_id
        self._opened: set[str] = set()
        self._lock = asyncio.Lock()
        self._approved = False
        self._warned_cap = False
        self._stopped: str | None = None
        #: USD actually spent by this run.
        self.spent_usd = 0.0
        #: USD reserved by this run's calls in flight.
        self.reserved_usd = 0.0
        #: Warnings raised while the run went on (cap passed in warn mode, unknown or late bills).
        self.warnings: list[str] = []

    @property
    def hold_ttl_s(self) -> float:
        """Seconds a reservation is held before another process may reclaim it."""
        return self._ttl

    async def _io(self, fn: Callable[[], _T], *, undo: Callable[[_T], object] | None = None) -> _T:
        """Run a ledger call; one that blocks on a database goes to a worker thread.

        A cancelled caller (Ctrl-C, a stopped run) still waits for the database write it started, so the
        ledger never keeps a reservation nobody knows of: ``undo`` then takes back what the call did.
        """
        if not self._ledger.blocking:
            return fn()
        loop = asyncio.get_running_loop()
        # A plain executor future, not a task: shutting the loop down cancels tasks, not this write.
        future = loop.run_in_executor(None, fn)
        if not await _through_cancellation(future):
            return future.result()
        with contextlib.suppress(Exception):
            done = future.result()
            if undo is not None:
                await _through_cancellation(loop.run_in_executor(None, undo, done))
        raise asyncio.CancelledError

    async def _lines(self, item_id: str) -> list[str]:
        """The lines a call of ``item_id`` reserves on, opened on first use."""
        wanted: dict[str, float | None] = {
            self._run_line: self._config.max_cost if self._config.abort_on_budget_exceeded else None
        }
        workspace = self._workspace
        if workspace is not None:
            if workspace.per_request_limit_usd is not None:
                wanted[request_line(self._run_id, item_id)] = workspace.per_request_limit_usd
            wanted[workspace.month_line(self._now())] = workspace.monthly_limit_usd
        for key, cap in wanted.items():
            if key not in self._opened:
                await self._io(partial(self._ledger.open, key, cap))
                self._opened.add(key)
        return list(wanted)

    async def reserve(self, bound_usd: float, *, tier: str, item_id: str) -> Reservation:
        """Set ``bound_usd`` aside, or raise if the call must not be made."""
        async with self._lock:
            if self._stopped:
                logger.debug("refused item %r (%s): the run is stopping: %s", item_id, tier, self._stopped)
                raise BudgetExceededError(self._stopped)
            if not (math.isfinite(bound_usd) and 0 <= bound_usd <= MAX_USD):
                unknown = " (no price is known for the model: the budget fails closed)" if bound_usd == math.inf else ""
                self._stopped = (
                    f"the cost estimate for item {item_id!r} ({tier}) is {bound_usd!r}{unknown}, not a finite amount "
                    "the ledger can hold: the budget cannot be guarded, so the run stops"
                )
                logger.debug("refused: %s", self._stopped)
                raise BudgetExceededError(self._stopped)
            projected = self.spent_usd + self.reserved_usd + bound_usd
            self._warn_past_cap(projected, bound_usd, tier, item_id)
            await self._ask_approval(projected, bound_usd, tier, item_id)
            self.reserved_usd += bound_usd  # counted before the ledger call, so the approval sees it
        owner = f"{self._run_id}/{item_id}"
        try:
            keys = await self._lines(item_id)
            reserve = partial(self._ledger.reserve, keys, bound_usd, ttl_s=self._ttl, owner=owner)
            hold = await self._io(reserve, undo=self._ledger.release)
        except BudgetExceededError as exc:
            self.reserved_usd = max(0.0, self.reserved_usd - bound_usd)
            refused = self._refused(exc, bound_usd, tier, item_id)
            logger.debug("refused: %s", refused)
            raise refused from None
        except StoreError as exc:
            self.reserved_usd = max(0.0, self.reserved_usd - bound_usd)
            self._stopped = (
                self._stopped or f"the budget ledger failed, so the run stops rather than spend unguarded: {exc}"
            )
            logger.warning("%s", self._stopped)
            raise BudgetUnavailableError(self._stopped) from exc
        except BaseException:
            self.reserved_usd = max(0.0, self.reserved_usd - bound_usd)
            raise
        logger.debug(
            "reserved $%.6f for item %r (%s) on %s; run spent $%.6f, reserved $%.6f",
            bound_usd,
            item_id,
            tier,
            ", ".join(keys),
            self.spent_usd,
            self.reserved_usd,
        )
        return Reservation(bound_usd, hold)

    def _warn_past_cap(self, projected: float, bound_usd: float, tier: str, item_id: str) -> None:
        cap = self._config.max_cost
        if self._config.abort_on_budget_exceeded or cap is None or projected <= cap + _EPS:
            return
        if self._config.warn_on_budget_exceeded and not self._warned_cap:
            self._warned_cap = True
            self.warnings.append(
                f"budget exceeded: spending up to ${bound_usd:.6f} on item {item_id!r} ({tier}) "
                f"brings the run to ${projected:.6f}, above max_cost ${cap:.2f}"
            )
            logger.warning("%s (warn mode: the run goes on)", self.warnings[-1])

    def _refused(self, exc: BudgetExceededError, bound_usd: float, tier: str, item_id: str) -> Exception:
        """The error for a refused reservation: an item-level stop, or a run-level one."""
        line = exc.line
        if line is not None and line.key == request_line(self._run_id, item_id):
            return RequestBudgetExceededError(
                f"item {item_id!r} ({tier}): its next call (up to ${bound_usd:.6f}) could pass the per-request cap "
                f"${line.cap_usd or 0:.2f} (spent ${line.spent_usd:.6f})"
            )
        if line is not None and line.key == self._run_line:
            projected = line.spent_usd + line.reserved_usd + bound_usd
            message = (
                f"budget exceeded: spending up to ${bound_usd:.6f} on item {item_id!r} ({tier}) "
                f"would bring the run to ${projected:.6f}, above max_cost ${line.cap_usd or 0:.2f}"
            )
        else:
            message = f"budget exceeded on item {item_id!r} ({tier}): {exc}"
        self._stopped = self._stopped or message
        return BudgetExceededError(message, line=line, requested_usd=exc.requested_usd)

    async def _ask_approval(self, projected: float, bound_usd: float, tier: str, item_id: str) -> None:
        limit = self._config.auto_approve_under
        if limit is None:
            return
        crossing = not self._approved and projected > limit + _EPS
        single = bound_usd > limit + _EPS  # one call that alone could cost more than the limit: asked every time
        if not (crossing or single):
            return
        if self._approval is None:
            self._stopped = (
                f"spending above auto_approve_under ${limit:.2f} needs approval: pass an approval callback "
                "(CLI: --yes or answer the prompt) or raise auto_approve_under"
            )
            logger.debug("refused: %s", self._stopped)
            raise ApprovalDeniedError(self._stopped)
        request = ApprovalRequest(
            spent_usd=self.spent_usd,
            reserved_usd=self.reserved_usd,
            next_call_usd=bound_usd,
            auto_approve_under=limit,
            max_cost=self._config.max_cost,
            tier=tier,
            item_id=item_id,
            single_call=single,
        )
        approval = self._approval
        logger.debug(
            "asking approval for item %r (%s): up to $%.6f, run at $%.6f, auto_approve_under $%.2f%s",
            item_id,
            tier,
            bound_usd,
            projected,
            limit,
            " (this call alone is above it)" if single else "",
        )
        try:
            if _is_async(approval):
                verdict = approval(request)
            else:  # a blocking callback (a terminal prompt) must not stop the calls in flight from settling
                verdict = await asyncio.to_thread(approval, request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:  # an approval that fails is a refusal (fail closed)
            self._stopped = f"the approval callback failed ({type(exc).__name__}: {exc}); treated as not approved"
            logger.warning("%s", self._stopped)
            raise ApprovalDeniedError(self._stopped) from exc
        if not verdict:
            self._stopped = f"spending above auto_approve_under ${limit:.2f} was not approved"
            logger.debug("refused: %s", self._stopped)
            raise ApprovalDeniedError(self._stopped)
        logger.debug("approved: item %r (%s) may spend up to $%.6f", item_id, tier, bound_usd)
        self._approved = True

    async def settle(self, reservation: Reservation, actual_usd: float | None, *, model: str | None = None) -> float:
        """Replace ``reservation`` by the real bill; returns the amount counted.

        An unknown bill (``None``, NaN, negative) is counted at the reserved bound, never as free. A
        bill above its bound (a wrong estimator) is counted in full, recorded, and, when aborting is
        on and the run's cap is now passed, stops the run before any further call.
        """
        self.reserved_usd = max(0.0, self.reserved_usd - reservation.amount_usd)
        bound = reservation.amount_usd
        try:
            settlement = await self._write(partial(self._ledger.settle, reservation.hold, actual_usd))
        except StoreError as exc:
            counted = settlement_amount(reservation.hold, actual_usd)[0] / NANO
            self.spent_usd += counted
            self._stopped = self._stopped or (
                f"the budget ledger could not record a ${counted:.6f} bill ({exc}); the run stops. The hold stays "
                "on the ledger until it expires, so the spend is counted until then and lost after"
            )
            logger.warning("%s", self._stopped)
            raise BudgetUnavailableError(self._stopped) from exc
        counted, unknown, late = settlement.counted_usd, settlement.unknown, settlement.late
        call = f"a {model} call" if model else "a call"
        noted = len(self.warnings)
        if unknown:
            self.warnings.append(
                f"cost of {call} is unknown ({actual_usd!r}); counted at its reserved bound ${bound:.6f}"
            )
        if late:
            self.warnings.append(f"{call} finished after its hold expired; its ${counted:.6f} was still counted")
        self.spent_usd += counted
        logger.debug(
            "settled %s: $%.6f counted (reserved $%.6f); run spent $%.6f", call, counted, bound, self.spent_usd
        )
        if settlement.over_hold:
            self.warnings.append(f"a call cost ${counted:.6f}, more than its reserved bound ${bound:.6f}")
            cap = self._config.max_cost
            if cap is not None and self._config.abort_on_budget_exceeded and self.spent_usd > cap + _EPS:
                self._stopped = (
                    f"budget exceeded: a call cost more than its estimate and the run reached ${self.spent_usd:.6f}, "
                    f"above max_cost ${cap:.2f}"
                )
                logger.debug("refusing further calls: %s", self._stopped)
        for warning in self.warnings[noted:]:
            logger.warning("%s", warning)
        return counted

    async def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose call failed without a bill."""
        self.reserved_usd = max(0.0, self.reserved_usd - reservation.amount_usd)
        logger.debug("released $%.6f (the call failed without a bill)", reservation.amount_usd)
        try:
            await self._write(partial(self._ledger.release, reservation.hold))
        except StoreError as exc:  # a release that fails only holds money until the hold expires
            logger.warning("the ledger could not release a $%.6f hold (%s); it expires", reservation.amount_usd, exc)

    async def _write(self, fn: Callable[[], _T]) -> _T:
        """A settle or release, retried briefly when the database fails (they are idempotent)."""
        try:  # the first try needs no retry machinery (nearly every write ends here)
            return await self._io(fn)
        except StoreError as exc:
            logger.warning("budget ledger write failed (%s); retrying", exc)
            await asyncio.sleep(_LEDGER_RETRY_S)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(StoreError),
            stop=stop_after_attempt(_LEDGER_WRITE_ATTEMPTS - 1),
            wait=wait_exponential(multiplier=2 * _LEDGER_RETRY_S, max=2.0),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._io(fn)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity re-raises the last error

    def halt(self, reason: str) -> None:
        """Refuse every further reservation (the run is stopping for ``reason``)."""
        if self._stopped is None:
            logger.debug("refusing further calls: %s", reason)
        self._stopped = self._stopped or reason

    @property
    def stopped(self) -> bool:
        """True once the run was stopped for budget or approval."""
        return self._stopped is not None


def _is_async(fn: object) -> bool:
    """Whether calling ``fn`` gives a coroutine (an ``async def`` function or object)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


async def _through_cancellation(future: asyncio.Future[Any]) -> bool:
    """Wait for ``future`` to finish even if cancelled meanwhile; whether a cancellation came."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:  # its error is read from the future by the caller
            break
    return cancelled
