"""The progressive executor: every item starts low and only failed items climb the ladder.

For each item, starting on its start tier (the first tier by default):

1. pick the tier's next model, in the tier's order or the one ``model_order`` gives for the item
   (cache-aware, say); a model that errors is skipped for the rest of the tier,
2. let the tier's team answer; each call goes through :class:`~escalade.cascade._calls.GuardedCaller`
   (context-window skip, call ceiling, budget reserve/settle, retries of transient errors),
3. score the answer; it stays on the tier when its CQS meets the tier threshold and no custom
   predicate objects, otherwise it is retried up to the tier's ``min_attempts`` (stopping early on
   stagnation) and then climbs. A scorer that raises ``UntrustedRunError`` (generated tests whose
   sandbox run cannot be trusted) says the attempt has no answer: it is kept as a failed attempt,
   like an error. A tier that answered nothing climbs too, with the last error as the reason,
   unless only rate limits stopped it and ``escalate_on_rate_limit`` is off.

Items run concurrently (bounded by ``max_concurrency``); an unexpected error fails that item only,
and so does a stop of that item alone (its per-request cap or call ceiling), which keeps its best
answer. A run stop (``BudgetExceededError``/``ApprovalDeniedError``) or a failing listener
(``ListenerError``: results could no longer be stored) stops the whole run; the error carries
the partial result. Money spent by an attempt that then fails is always kept in the result.
Every finished attempt is handed to the listeners at once, so a store listener keeps all finished
work even if the process is interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeAlias

from escalade._logs import debug_content
from escalade.budget import ApprovalCallback, BudgetGuard, BudgetLedger, WorkspaceBudget
from escalade.cascade._calls import CallObserver, ContextWindows, GuardedCaller, RequestCalls
from escalade.cascade._climb import capped, held_by_rate_limit, next_tier
from escalade.cascade._events import RunListener
from escalade.cascade._items import (
    ItemState,
    WorkItem,
    attempt_failure,
    cut_short,
    finish_item,
    last_answered,
    price_versions,
    request_stopped,
    total_cost,
    total_usage,
)
from escalade.cascade._results import (
    AttemptRecord,
    ItemResult,
    ProgressiveWorkflowResult,
    TierResult,
    error_cause,
    run_status,
)
from escalade.cascade._runlog import log_attempt, log_item, log_run
from escalade.cascade._teams import TeamContext, TeamStrategy, default_team
from escalade.exceptions import (
    ConfigError,
    ListenerError,
    RequestStoppedError,
    RunStoppedError,
    UntrustedRunError,
)
from escalade.ladder import EscalationConfig, Tier
from escalade.providers import Completion, CompletionRequest, CostEstimator, Provider
from escalade.quality import (
    AnsweredAttempt,
    ConsensusScorer,
    EscalationPredicate,
    PredicateContext,
    ScorerLike,
    ScoringContext,
    as_scorer,
    below_threshold,
    score_now,
)

__all__ = ["ModelOrder", "ProgressiveExecutor", "new_run_id"]

logger = logging.getLogger(__name__)


#: The order to try a tier's models in for an item (e.g. cheapest effective cost first, warm caches
#: included); it must return the tier's models, each once.
ModelOrder: TypeAlias = Callable[[Tier, "WorkItem"], Sequence[str]]


class ProgressiveExecutor:
    """Runs items through the ladder of ``config``.

    >>> from escalade.providers._fake import ScriptedProvider
    >>> from escalade.ladder._tiers import Ladder, Tier
    >>> cfg = EscalationConfig(tiers=Ladder([Tier(name="cheap", rank=0, models=("m",), threshold=0)]))
    >>> ex = ProgressiveExecutor(cfg, ScriptedProvider({"m": ["42"]}, cost_per_call=0.001))
    >>> ex.run_sync([WorkItem(id="q1", prompt="6 x 7?")]).items[0].final_answer
    '42'
    """

    def __init__(
        self,
        config: EscalationConfig,
        provider: Provider,
        *,
        scorer: ScorerLike | None = None,
        predicates: Sequence[EscalationPredicate] = (),
        estimator: CostEstimator | None = None,
        approval: ApprovalCallback | None = None,
        listeners: Iterable[RunListener] = (),
        teams: Callable[[Tier], TeamStrategy] | None = None,
        baseline: Callable[[WorkItem], float] | None = None,
        workflow: str = "progressive",
        ledger: BudgetLedger | None = None,
        workspace_budget: WorkspaceBudget | None = None,
        context_windows: ContextWindows | None = None,
        model_order: ModelOrder | None = None,
        call_observer: CallObserver | None = None,
        hold_ttl_s: float = 900.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if workspace_budget is not None and ledger is None:
            raise ConfigError(
                "a workspace budget needs a ledger shared by the workspace's runs: pass ledger=SqlStore(url).ledger() "
                "(or one MemoryLedger you keep across runs)",
                field="ledger",
            )
        if estimator is None:
            if not isinstance(provider, CostEstimator):
                raise ConfigError(
                    "the provider cannot estimate costs; pass estimator=... so the budget guard can bound spend",
                    field="estimator",
                )
            estimator = provider
        self.config = config
        self.provider = provider
        self.scorer = as_scorer(scorer or ConsensusScorer())
        self.predicates = (below_threshold, *predicates)
        self.estimator = estimator
        self.approval = approval
        self.listeners = list(listeners)
        self.teams = teams or (lambda tier: default_team(tier.team_size))
        self.baseline = baseline or self._estimated_baseline
        self.workflow = workflow
        #: Where budgets are kept (``None``: a ledger in memory, for this run alone).
        self.ledger = ledger
        #: The workspace's monthly and per-request caps, when it has any.
        self.workspace_budget = workspace_budget
        window = getattr(provider, "context_window", None)
        #: Context windows of models; by default the provider's own ``context_window(model)``, if it has one.
        self.context_windows: ContextWindows | None = context_windows or (window if callable(window) else None)
        #: Order of a tier's models for an item (e.g. cache-aware); by default the tier's own order.
        self.model_order = model_order
        #: Told of every call (e.g. :class:`~escalade.routing._cache.CacheAwareRouter` learning cache hits).
        self.call_observer = call_observer
        #: Seconds a call's budget reservation is held before another process may reclaim it.
        self.hold_ttl_s = hold_ttl_s
        self.sleep = sleep

    def run_sync(self, items: Iterable[WorkItem], **kwargs: Any) -> ProgressiveWorkflowResult:
        """Blocking form of :meth:`run`."""
        return asyncio.run(self.run(items, **kwargs))

    async def run(
        self, items: Iterable[WorkItem], *, run_id: str | None = None, start_tier: str | None = None
    ) -> ProgressiveWorkflowResult:
        """Run ``items`` and return the result; a stopped run raises ``RunStoppedError`` with the partial result."""
        work = list(items)
        ids = [w.id for w in work]
        if len(set(ids)) != len(ids):
            raise ConfigError("work item ids must be unique within a run", field="id")
        for field, names in (
            ("start_tier", {w.start_tier or start_tier for w in work}),
            ("max_tier", {w.max_tier for w in work}),
        ):
            for name in names - {None}:
                if str(name) not in self.config.tiers.names:
                    tiers = ", ".join(self.config.tiers.names)
                    raise ConfigError(f"no tier named {name!r}; tiers: {tiers}", field=field)
        run_id = run_id or new_run_id(self.workflow)
        started = datetime.now(UTC)
        guard = BudgetGuard(
            self.config,
            self.approval,
            run_id=run_id,
            ledger=self.ledger,
            workspace=self.workspace_budget,
            hold_ttl_s=self.hold_ttl_s,
        )
        logger.info(
            "run %s started: workflow %s, %d item(s), tiers %s, max_cost %s",
            run_id,
            self.workflow,
            len(work),
            ", ".join(self.config.tiers.names),
            self.config.max_cost,
        )
        self._emit("on_run_started", run_id, self.workflow, self.config, len(work))
        semaphore = asyncio.Semaphore(self.config.max_concurrency)
        results: dict[str, ItemResult] = {}
        stop: list[RunStoppedError] = []

        async def worker(item: WorkItem) -> None:
            async with semaphore:
                if stop:
                    return
                results[item.id] = await self._run_item(run_id, item, start_tier, guard, stop)
                log_item(logger, results[item.id])
                try:
                    self._emit("on_item_finished", run_id, results[item.id])
                except ListenerError as exc:
                    stop.append(exc)
                    guard.halt(f"run stopped: {exc}")

        if len(work) == 1:  # one request (the one-call API): no task to spawn, the same worker
            await worker(work[0])
        else:
            await _all_or_cancel([asyncio.ensure_future(worker(item)) for item in work])
        final = [results.get(w.id) or ItemResult(item_id=w.id, status="not_run", prompt=w.prompt) for w in work]
        result = ProgressiveWorkflowResult(
            run_id=run_id,
            workflow=self.workflow,
            status=run_status(final, stopped=bool(stop)),
            tier_names=self.config.tiers.names,
            items=tuple(final),
            started_at=started,
            finished_at=datetime.now(UTC),
            warnings=tuple(guard.warnings),
            config=self.config,
        )
        log_run(logger, result)
        try:
            self._emit("on_run_finished", result)
        except ListenerError as failure:
            stop.append(failure)
        if stop:
            first = stop[0]
            logger.warning("run %s stopped: %s", run_id, first)
            raise type(first)(str(first), partial_result=result) from first
        return result

    async def _run_item(
        self, run_id: str, item: WorkItem, start_tier: str | None, guard: BudgetGuard, stop: list[RunStoppedError]
    ) -> ItemResult:
        state = ItemState(item, calls=RequestCalls(limit=self.config.max_calls_per_request))
        ladder = self.config.tiers
        tier: Tier | None = ladder[item.start_tier or start_tier or ladder[0].name]
        baseline = 0.0
        debug_content(logger, "item %r prompt: %r", item.id, item.prompt)
        try:
            baseline = self.baseline(item)
            while tier is not None:
                state.errors = []
                tier_result, passed, final = await self._run_tier(run_id, state, tier, guard)
                nxt = next_tier(self.config, item, tier)
                held = None if passed else held_by_rate_limit(self.config, state, tier)
                if passed or nxt is None or held:
                    if held:
                        logger.debug("item %r stays on tier %r: %s", item.id, tier.name, held)
                    why = held or tier_result.escalation_reason
                    if not passed and not held and capped(self.config, item, tier):
                        why = f"{why or 'not accepted'}; the item may not climb above tier {item.max_tier!r}"
                    state.tiers.append(replace(tier_result, escalation_reason=why))
                    return finish_item(state, "accepted" if passed else "unresolved", final, baseline, error=held)
                reason = tier_result.escalation_reason or "quality below threshold"
                state.tiers.append(replace(tier_result, escalated=True, escalation_reason=reason))
                logger.debug("item %r escalates %s -> %s: %s", item.id, tier.name, nxt.name, reason)
                self._emit("on_escalation", run_id, item.id, tier.name, nxt.name, reason)
                tier = nxt
        except RequestStoppedError as exc:  # this item's budget or call ceiling is spent; the run goes on
            return request_stopped(state, exc, baseline)
        except RunStoppedError as exc:  # the whole run stops; keep what this item did
            stop.append(exc)
            guard.halt(f"run stopped: {exc}")  # items in flight make no further calls
            return cut_short(state, "stopped", str(exc), baseline)
        except Exception as exc:  # a failing item never stops the others; its spend is kept
            logger.warning("item %r failed (the run goes on): %s: %s", item.id, type(exc).__name__, exc)
            return cut_short(state, "failed", f"{type(exc).__name__}: {exc}", baseline)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_tier(
        self, run_id: str, state: ItemState, tier: Tier, guard: BudgetGuard
    ) -> tuple[TierResult, bool, AttemptRecord | None]:
        """Attempts on one tier: (tier result, passed, best answer so far for this item)."""
        attempts = state.current = []
        unavailable: set[str] = set()
        scores: list[float] = []
        reason: str | None = None if tier.models else "tier has no models"
        models = self._models(tier, state.item)
        cursor = 0
        while len(scores) < tier.min_attempts:
            model = _next_model(models, cursor, unavailable)
            if model is None:
                last = f" (last error: {state.errors[-1]})" if state.errors else ""
                reason = reason or f"no model of the tier could answer{last}"
                break
            cursor = models.index(model) + 1
            record = await self._attempt(run_id, state, tier, model, len(attempts) + 1, guard)
            if record.error is not None:
                logger.warning(
                    "item %r: %s failed (%s); the tier goes on without it", state.item.id, model, record.error
                )
                unavailable.add(model)
                continue
            state.history.append(AnsweredAttempt(tier=tier.name, model=model, text=record.text))
            scores.append(record.cqs or 0.0)
            if record.passed:
                return (
                    TierResult(tier=tier.name, attempts=tuple(attempts), escalated=False, escalation_reason=None),
                    True,
                    record,
                )
            reason = record.reason
            if len(scores) < tier.min_attempts and self._stagnated(scores):
                cfg = self.config
                rose = f"CQS rose < {cfg.stagnation_threshold:.0%} over {cfg.stagnation_window} attempts"
                reason = f"{reason}; stagnated ({rose})"
                break
        best = last_answered(state, attempts)
        return (
            TierResult(tier=tier.name, attempts=tuple(attempts), escalated=False, escalation_reason=reason),
            False,
            best,
        )

    def _models(self, tier: Tier, item: WorkItem) -> tuple[str, ...]:
        """The tier's models in the order to try them for ``item``."""
        if self.model_order is None or not tier.models:
            return tier.models
        ordered = tuple(self.model_order(tier, item))
        if set(ordered) != set(tier.models) or len(set(ordered)) != len(ordered):
            raise ConfigError(
                f"model_order must return the models of tier {tier.name!r} in some order, got {list(ordered)}",
                field="model_order",
            )
        return ordered

    def _stagnated(self, scores: list[float]) -> bool:
        window = self.config.stagnation_window
        if len(scores) < window:
            return False
        return (scores[-1] - scores[-window]) / 100.0 < self.config.stagnation_threshold

    async def _attempt(
        self, run_id: str, state: ItemState, tier: Tier, model: str, number: int, guard: BudgetGuard
    ) -> AttemptRecord:
        """One attempt; its record is appended to ``state.current`` and handed to the listeners."""
        # Yield to the event loop: providers that answer without suspending (replay, caches) would
        # otherwise run a whole run in one loop iteration, deaf to cancellation and signals.
        await asyncio.sleep(0)
        record = await self._work(state, tier, model, number, guard)
        state.current.append(record)
        log_attempt(logger, record)
        self._emit("on_attempt", run_id, record)
        if record.raised is not None:
            raise record.raised
        return record

    async def _work(self, state: ItemState, tier: Tier, model: str, number: int, guard: BudgetGuard) -> AttemptRecord:
        """One attempt's work: the tier's team answers through a guarded caller, then the answer is judged."""
        item = state.item
        started = datetime.now(UTC)
        clock = time.perf_counter()
        call = self._caller(state, tier, guard)
        context = TeamContext(
            item_id=item.id,
            prompt=item.prompt,
            model=model,
            max_output_tokens=item.options.max_output_tokens or self.config.max_output_tokens,
            call=call,
            options=item.options,
        )

        def record(**fields: Any) -> AttemptRecord:
            """The attempt's record: what it was, what it spent (every call, a failed attempt's too), ``fields``."""
            spent = call.spent
            return AttemptRecord(
                item_id=item.id,
                tier=tier.name,
                attempt=number,
                model=model,
                started_at=started,
                cost_usd=total_cost(spent),
                usage=total_usage(spent),
                calls=len(spent),
                latency_s=time.perf_counter() - clock,
                price_data_version=price_versions(spent),
                **fields,
            )

        try:
            outcome = await self.teams(tier).run(context)
        except Exception as exc:  # every failure becomes the attempt's record (see attempt_failure)
            return record(**attempt_failure(state, exc))
        final = outcome.final
        judged = await self._judge(state, tier, number, final, outcome.samples)
        return record(text=final.text, tool_calls=final.tool_calls, finish_reason=final.finish_reason, **judged)

    def _caller(self, state: ItemState, tier: Tier, guard: BudgetGuard) -> GuardedCaller:
        """The guarded caller of one attempt: context windows, the call ceiling, the budget, retries."""
        return GuardedCaller(
            provider=self.provider,
            estimator=self.estimator,
            guard=guard,
            config=self.config,
            tier=tier.name,
            item_id=state.item.id,
            calls=state.calls,
            context_windows=self.context_windows,
            observer=self.call_observer,
            sleep=self.sleep,
        )

    async def _judge(
        self, state: ItemState, tier: Tier, number: int, answer: Completion, samples: tuple[Completion, ...] = ()
    ) -> dict[str, Any]:
        """The attempt's score and verdict; an answer that cannot be trusted is no answer (a failed attempt)."""
        item = state.item
        context = ScoringContext(
            item_id=item.id,
            prompt=item.prompt,
            task_kind=item.task_kind,
            tier=tier.name,
            attempt=number,
            completion=answer,
            history=tuple(state.history),
            metadata=dict(item.metadata),
            samples=samples,
        )
        try:
            analysis = await score_now(self.scorer, context)
            pctx = PredicateContext(tier=tier.name, threshold=tier.threshold, attempt=number, analysis=analysis)
            reasons = [r or "custom predicate" for escalate, r in (p(pctx) for p in self.predicates) if escalate]
        except UntrustedRunError as exc:
            state.errors.append(exc)
            unanswered = {"analysis": exc.analysis, "cqs": None, "passed": False, "reason": str(exc)}
            return {**unanswered, "error": str(exc), "error_cause": error_cause(exc)}
        except Exception as exc:
            error = f"scoring failed: {type(exc).__name__}: {exc}"
            failed = {"analysis": None, "cqs": None, "passed": False, "reason": error, "error": error}
            return {**failed, "error_cause": error_cause(exc), "raised": exc}
        return {"analysis": analysis, "cqs": analysis.cqs, "passed": not reasons, "reason": "; ".join(reasons) or None}

    def _estimated_baseline(self, item: WorkItem) -> float:
        top = self.config.tiers.top
        if not top.models:
            return 0.0
        request = CompletionRequest(
            item_id=item.id, model=top.models[0], prompt=item.prompt, max_output_tokens=self.config.max_output_tokens
        )
        expected = self.estimator.estimate(request).expected_usd * top.team_size
        return expected if math.isfinite(expected) else 0.0  # an unknown price gives no baseline, not an infinite one

    def _emit(self, event: str, *args: Any) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, event)(*args)
            except Exception as exc:
                raise ListenerError(f"{type(listener).__name__}.{event} failed: {exc}") from exc


async def _all_or_cancel(workers: list[asyncio.Future[None]]) -> None:
    """Wait for every worker; if the run is cancelled (Ctrl-C, SIGTERM), cancel them and still wait.

    Waiting lets each worker settle what its call may have cost before the loop shuts down, so no
    budget hold is left behind by a stopped run.
    """
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        for worker in workers:
            worker.cancel()
        await asyncio.wait(workers)
        raise


def new_run_id(workflow: str) -> str:
    """A sortable, unique run id such as ``replay-20260117-120000-1a2b3c``."""
    return f"{workflow}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def _next_model(models: tuple[str, ...], cursor: int, unavailable: set[str]) -> str | None:
    for offset in range(len(models)):
        model = models[(cursor + offset) % len(models)]
        if model not in unavailable:
            return model
    return None
