"""The run's budget guard: reserve the worst case before each call, settle the real bill after.

Reservation happens under a lock, so concurrent items can never jointly commit more than
``max_cost`` when aborting is on: ``spent + reserved + next bound <= max_cost`` holds at every
reservation, and a settled bill replaces its (larger or equal) reservation. Crossing
``auto_approve_under`` asks the approval callback once; a refusal, a callback that fails, or no
callback at all stops the run (fail closed). The guarantee needs an estimator whose bound is a real
upper bound (exact for replays); a bill above its bound is counted, reported, and stops the run.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

from escalade.config import EscalationConfig
from escalade.exceptions import ApprovalDeniedError, BudgetExceededError

__all__ = ["ApprovalCallback", "ApprovalRequest", "BudgetGuard", "Reservation"]

_EPS = 1e-12


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


#: Decides an :class:`ApprovalRequest`; may be async.
ApprovalCallback: TypeAlias = Callable[[ApprovalRequest], "bool | Awaitable[bool]"]


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money set aside for one call."""

    amount_usd: float


class BudgetGuard:
    """Reserve → settle/release accounting for one run."""

    def __init__(self, config: EscalationConfig, approval: ApprovalCallback | None = None) -> None:
        self._config = config
        self._approval = approval
        self._lock = asyncio.Lock()
        self._approved = False
        self._warned_cap = False
        self._stopped: str | None = None
        #: USD actually spent.
        self.spent_usd = 0.0
        #: USD reserved by calls in flight.
        self.reserved_usd = 0.0
        #: Warnings raised while the run went on past its cap (warn mode).
        self.warnings: list[str] = []

    async def reserve(self, bound_usd: float, *, tier: str, item_id: str) -> Reservation:
        """Set ``bound_usd`` aside, or raise if the run must stop."""
        async with self._lock:
            if self._stopped:
                raise BudgetExceededError(self._stopped)
            if not (math.isfinite(bound_usd) and bound_usd >= 0):
                self._stopped = (
                    f"the cost estimate for item {item_id!r} ({tier}) is {bound_usd!r}, not a finite amount >= 0: "
                    "the budget cannot be guarded, so the run stops"
                )
                raise BudgetExceededError(self._stopped)
            projected = self.spent_usd + self.reserved_usd + bound_usd
            cap = self._config.max_cost
            if cap is not None and projected > cap + _EPS:
                message = (
                    f"budget exceeded: spending up to ${bound_usd:.6f} on item {item_id!r} ({tier}) "
                    f"would bring the run to ${projected:.6f}, above max_cost ${cap:.2f}"
                )
                if self._config.abort_on_budget_exceeded:
                    self._stopped = message
                    raise BudgetExceededError(message)
                if self._config.warn_on_budget_exceeded and not self._warned_cap:
                    self._warned_cap = True
                    self.warnings.append(message)
            await self._ask_approval(projected, bound_usd, tier, item_id)
            self.reserved_usd += bound_usd
            return Reservation(bound_usd)

    async def _ask_approval(self, projected: float, bound_usd: float, tier: str, item_id: str) -> None:
        limit = self._config.auto_approve_under
        if self._approved or limit is None or projected <= limit + _EPS:
            return
        if self._approval is None:
            self._stopped = (
                f"spending above auto_approve_under ${limit:.2f} needs approval: pass an approval callback "
                "(CLI: --yes or answer the prompt) or raise auto_approve_under"
            )
            raise ApprovalDeniedError(self._stopped)
        request = ApprovalRequest(
            spent_usd=self.spent_usd,
            reserved_usd=self.reserved_usd,
            next_call_usd=bound_usd,
            auto_approve_under=limit,
            max_cost=self._config.max_cost,
            tier=tier,
            item_id=item_id,
        )
        try:
            verdict = self._approval(request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:  # an approval that fails is a refusal (fail closed)
            self._stopped = f"the approval callback failed ({type(exc).__name__}: {exc}); treated as not approved"
            raise ApprovalDeniedError(self._stopped) from exc
        if not verdict:
            self._stopped = f"spending above auto_approve_under ${limit:.2f} was not approved"
            raise ApprovalDeniedError(self._stopped)
        self._approved = True

    def settle(self, reservation: Reservation, actual_usd: float) -> float:
        """Replace ``reservation`` by the real bill; returns the amount counted.

        A bill that is not a finite amount >= 0 is counted at the reserved bound. A bill above its
        bound (a wrong estimator) is counted in full, recorded, and, when aborting is on and the cap
        is now passed, stops the run before any further call.
        """
        self.reserved_usd = max(0.0, self.reserved_usd - reservation.amount_usd)
        if not (math.isfinite(actual_usd) and actual_usd >= 0):
            self.warnings.append(
                f"a call reported cost {actual_usd!r}; counted at its reserved bound ${reservation.amount_usd:.6f}"
            )
            actual_usd = reservation.amount_usd
        self.spent_usd += actual_usd
        if actual_usd > reservation.amount_usd + _EPS:
            self.warnings.append(
                f"a call cost ${actual_usd:.6f}, more than its reserved bound ${reservation.amount_usd:.6f}"
            )
            cap = self._config.max_cost
            if cap is not None and self._config.abort_on_budget_exceeded and self.spent_usd > cap + _EPS:
                self._stopped = (
                    f"budget exceeded: a call cost more than its estimate and the run reached ${self.spent_usd:.6f}, "
                    f"above max_cost ${cap:.2f}"
                )
        return actual_usd

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose call failed without a bill."""
        self.reserved_usd = max(0.0, self.reserved_usd - reservation.amount_usd)

    def halt(self, reason: str) -> None:
        """Refuse every further reservation (the run is stopping for ``reason``)."""
        self._stopped = self._stopped or reason

    @property
    def stopped(self) -> bool:
        """True once the run was stopped for budget or approval."""
        return self._stopped is not None
