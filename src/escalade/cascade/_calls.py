"""One guarded provider call: context-window check, budget, retries, and a ceiling on paid attempts.

Every request a team sends goes through :class:`GuardedCaller`, which in order:

1. **skips a model the prompt does not fit.** When the context window of the model is known, a
   request whose prompt (estimated generously at one token per three characters) plus its output cap
   exceeds the window raises :class:`~escalade.exceptions.ContextWindowError` *before* anything is
   sent or reserved, so the cascade moves on to the next model without a wasted call;
2. **counts the call against the request's ceiling** (``max_calls_per_request``): every call sent
   for a work item (each team role, retry and fallback) counts, and at the ceiling
   :class:`~escalade.exceptions.CallLimitError` ends the item (at once: no retry wait is spent first);
3. **reserves the worst case** with the budget guard, sends, and settles the bill. A call that failed
   without a bill releases its reservation, except one the provider may have charged for (a timeout,
   a stream that broke off): that one is counted at its reserved bound, never as free. A call is
   given up after 90% of its reservation's lifetime, so a live process never has a hold reclaimed
   under it (only a crashed one's holds expire);
4. **retries** with exponential backoff and jitter (tenacity), only what may succeed later:
   transient errors (timeouts, dropped connections, 5xx), and rate limits when the configuration keeps
   rate-limited work on its model (``escalate_on_rate_limit = false``); a rate limit then waits for
   the provider's ``retry-after``, unless that is longer than ``retry_max_wait_s``. Other errors
   (authentication, content policy, context window) are not retried: another model may do better.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from escalade.budget import BudgetGuard, Reservation
from escalade.exceptions import (
    BudgetError,
    CallLimitError,
    ContextWindowError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from escalade.ladder import EscalationConfig
from escalade.providers import Completion, CompletionRequest, CostEstimator, Provider, Usage

__all__ = ["CallObserver", "ContextWindows", "GuardedCaller", "RequestCalls", "fit_tokens"]

logger = logging.getLogger(__name__)

#: Share of a reservation's lifetime a call may take: it ends before its hold can be reclaimed.
_TTL_SHARE = 0.9

#: Most random time added to a backoff, in seconds, so that retrying clients do not move in lockstep.
_JITTER_S = 1.0

#: The context window in tokens of a model, or ``None`` when unknown (no check is made).
ContextWindows = Callable[[str], "int | None"]


class CallObserver(Protocol):
    """Sees each call go out and come back (e.g. a prompt-cache memory learning its hit rate)."""

    def before_call(self, request: CompletionRequest) -> None:
        """``request`` is about to be sent."""

    def after_call(self, request: CompletionRequest, completion: Completion) -> None:
        """``request`` was answered with ``completion``."""


def fit_tokens(text: str | None) -> int:
    """A generous token estimate for the context-window check: one token per three characters."""
    return math.ceil(len(text) / 3) if text else 0


@dataclass
class RequestCalls:
    """Calls sent so far for one work item, against its ceiling."""

    #: Ceiling on calls (``None``: none).
    limit: int | None
    #: Calls sent (paid or not: a failed call may still be billed).
    sent: int = 0
    #: Retries among them.
    retries: int = 0
    #: Messages of the errors that were retried.
    retried_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class GuardedCaller:
    """Sends one request under the checks of the module docstring; one per attempt."""

    provider: Provider
    estimator: CostEstimator
    guard: BudgetGuard
    config: EscalationConfig
    #: Tier the calls are made on (for budget messages).
    tier: str
    #: Work item the calls serve.
    item_id: str
    #: The item's call count (shared by all of the item's attempts).
    calls: RequestCalls
    #: Context windows of models (``None``: never checked).
    context_windows: ContextWindows | None = None
    #: Told of every call sent and answered (``None``: nobody).
    observer: CallObserver | None = None
    #: Completions paid for, in call order.
    spent: list[Completion] = field(default_factory=list)
    #: How to wait between retries (``asyncio.sleep``; tests pass a recorder).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(self, request: CompletionRequest) -> Completion:
        self._check_fits(request)
        try:  # the first send needs no retry machinery (most calls end here)
            return await self._send(request)
        except Exception as exc:
            if self.config.max_retries == 0 or not self._retryable(exc):
                raise
            wait = self._backoff(exc, retry=1)
            self._note(exc, request.model, 1, wait)
            await self.sleep(wait)
        retrying = AsyncRetrying(
            retry=retry_if_exception(self._retryable),
            stop=stop_after_attempt(self.config.max_retries),
            wait=lambda state: self._backoff(_error(state), retry=state.attempt_number + 1),
            sleep=self.sleep,
            before_sleep=lambda state: self._note(
                _error(state), request.model, state.attempt_number + 1, state.upcoming_sleep
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send(request)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity re-raises the last error

    def _check_fits(self, request: CompletionRequest) -> None:
        window = self.context_windows(request.model) if self.context_windows is not None else None
        if window is None:
            return
        needed = sum(fit_tokens(text) for text in request.texts()) + request.max_output_tokens
        if needed > window:
            logger.debug(
                "item %r: %s skipped before sending: about %d prompt tokens and %d output exceed its window of %d",
                self.item_id,
                request.model,
                needed - request.max_output_tokens,
                request.max_output_tokens,
                window,
            )
            raise ContextWindowError(
                f"{request.model}: skipped before sending: the prompt (about {needed - request.max_output_tokens} "
                f"tokens) and the output cap ({request.max_output_tokens}) exceed its context window of {window}",
                model=request.model,
            )

    async def _send(self, request: CompletionRequest) -> Completion:
        limit = self.calls.limit
        if limit is not None and self.calls.sent >= limit:
            logger.debug("item %r reached its ceiling of %d calls: no further call", self.item_id, limit)
            raise CallLimitError(
                f"item {self.item_id!r} reached its ceiling of {limit} calls (max_calls_per_request); no further call"
            )
        bound = self.estimator.estimate(request).max_usd
        reservation = await self.guard.reserve(bound, tier=self.tier, item_id=self.item_id)
        self.calls.sent += 1
        logger.debug(
            "item %r: calling %s (%s, call %d, up to $%.6f)",
            self.item_id,
            request.model,
            self.tier,
            self.calls.sent,
            bound,
        )
        self._tell("before_call", request)
        try:
            completion = await self._complete(request)
        except ProviderError as exc:
            if exc.billed_usd is None and not exc.maybe_billed:
                await self.guard.release(reservation)
                raise
            await self._count_failed(reservation, request, exc.billed_usd)
            raise
        except (Exception, asyncio.CancelledError):
            # A provider that broke in a way it did not type, or a run stopped mid-call: the provider
            # may still bill it, so it is counted at its bound (fail closed).
            await self._count_failed(reservation, request, None)
            raise
        except BaseException:
            await self.guard.release(reservation)
            raise
        try:
            counted = await self.guard.settle(reservation, completion.cost_usd, model=request.model)
        except BudgetError:  # the ledger could not record the bill: the run stops, the answer's cost is kept
            self.spent.append(completion)
            raise
        if counted != completion.cost_usd:
            completion = replace(completion, cost_usd=counted)
        self.spent.append(completion)
        self._tell("after_call", request, completion)
        return completion

    async def _count_failed(self, reservation: Reservation, request: CompletionRequest, billed: float | None) -> None:
        """Count a failed call the provider billed (``billed``) or may have billed (at its bound)."""
        counted = await self.guard.settle(reservation, billed, model=request.model)
        logger.debug("item %r: the failed %s call is counted at $%.6f", self.item_id, request.model, counted)
        self.spent.append(Completion(text=None, model=request.model, usage=Usage(estimated=True), cost_usd=counted))

    def _tell(self, event: str, *args: object) -> None:
        """Tell the observer; its failure never touches the call or the money (it is only recorded)."""
        if self.observer is None:
            return
        try:
            getattr(self.observer, event)(*args)
        except Exception as exc:
            logger.warning("call observer %s.%s failed: %r", type(self.observer).__name__, event, exc)
            self.guard.warnings.append(f"call observer {type(self.observer).__name__}.{event} failed: {exc!r}")

    async def _complete(self, request: CompletionRequest) -> Completion:
        """The provider's answer, given up before the reservation could expire and be reclaimed."""
        limit = self.guard.hold_ttl_s * _TTL_SHARE
        promised = self.provider.max_call_s
        if promised is not None and promised <= limit:  # it bounds its own calls: no timer needed
            return await self.provider.complete(request)
        try:
            async with asyncio.timeout(limit):
                return await self.provider.complete(request)
        except TimeoutError:
            raise TransientProviderError(
                f"{request.model}: no answer within {limit:g} s (hold lasts {self.guard.hold_ttl_s:g} s)",
                model=request.model,
                maybe_billed=True,
            ) from None

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, TransientProviderError):
            return True
        if isinstance(exc, RateLimitedError) and not self.config.escalate_on_rate_limit:
            return exc.retry_after_s is None or exc.retry_after_s <= self.config.retry_max_wait_s
        return False

    def _backoff(self, exc: BaseException | None, *, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): exponential with jitter, or retry-after."""
        limit = self.calls.limit
        if limit is not None and self.calls.sent >= limit:
            return 0.0  # the ceiling refuses the next send: end the item now, not after a backoff or retry-after
        cfg = self.config
        exponential = min(cfg.retry_backoff_s * 2.0 ** (retry - 1), cfg.retry_max_wait_s)
        backoff = min(exponential + random.uniform(0, _JITTER_S), cfg.retry_max_wait_s)
        if isinstance(exc, RateLimitedError) and exc.retry_after_s is not None:
            return min(max(exc.retry_after_s, backoff), cfg.retry_max_wait_s)
        return backoff

    def _note(self, exc: BaseException | None, model: str, retry: int, wait_s: float) -> None:
        logger.warning(
            "item %r: %s failed (%s: %s); retry %d of %d in %.1f s",
            self.item_id,
            model,
            type(exc).__name__,
            exc,
            retry,
            self.config.max_retries,
            wait_s,
        )
        self.calls.retries += 1
        self.calls.retried_errors.append(f"{type(exc).__name__}: {exc}")


def _error(state: RetryCallState) -> BaseException | None:
    """The exception that ended tenacity's latest attempt."""
    return state.outcome.exception() if state.outcome is not None else None
