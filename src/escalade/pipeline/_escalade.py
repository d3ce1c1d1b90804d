"""The one-call API: :class:`Escalade` answers one request through the whole pipeline.

Flow of :meth:`Escalade.agenerate` (and its blocking form :meth:`Escalade.generate`):

1. **preferences**: the workspace's (given, or read from the store once the store keeps them);
2. **route**: :class:`~escalade.routing.Router` picks the start tier (triggers, context analysis of
   ``files``, the classifier or a learned router, the workspace's bounds); ``tier=`` overrides it.
   As seed 002 orders it, a workspace ``default_tier`` wins over classification (the router's rule);
3. **one cascade run of one item**, through the same :class:`~escalade.cascade.ProgressiveExecutor`
   loop as batch runs: budget reservation on the workspace's ledger before each call, the cheapest
   model of the tier once warm prompt caches count, the call, quality signals, then accept or climb
   (low quality, errors, rate limits, context window), settle the bill;
4. **store**: with a store, the run is saved like any other run, and the triggers' outcomes are
   recorded from it (:class:`~escalade.store.TriggerOutcomeRecorder`, the rule of ``docs/routing.md``).

The workspace's ``quality_policy`` picks the scorer (and the CQS every tier must reach) when no
``scorer`` is given.

With ``auto_escalation`` off the request never climbs above its start tier (it still falls back to
the tier's other models on errors); the workspace's ``max_tier`` caps climbing too. A budget that
refuses the request raises :class:`~escalade.exceptions.BudgetExceededError`.

>>> from escalade.providers import ScriptedProvider
>>> from escalade.ladder import EscalationConfig, Ladder, Tier
>>> ladder = Ladder([Tier(name="cheap", rank=0, models=("m",), threshold=0)])
>>> ai = Escalade(config=EscalationConfig(tiers=ladder), provider=ScriptedProvider({"m": ["4"]}))
>>> result = ai.generate("2 + 2?")
>>> result.text, result.tier_ended, result.models_tried
('4', 'cheap', ('m',))
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from escalade.budget import ApprovalCallback, BudgetLedger, MemoryLedger, WorkspaceBudget, request_line, run_line
from escalade.cascade import ProgressiveExecutor, RunListener, SingleAgent, TeamStrategy, WorkItem
from escalade.exceptions import BudgetExceededError, ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.pipeline._request import PromptOrMessages, files_message, read_files, split_prompt
from escalade.pipeline._result import GenerateResult, result_of
from escalade.plugins import SCORERS, ScorerSetup, available, make_scorer
from escalade.providers import CostEstimator, Provider, RequestOptions, Tool, unhonoured_option
from escalade.quality import ScorerLike
from escalade.routing import (
    CacheAwareRouter,
    QualityPolicy,
    Router,
    RoutingDecision,
    Task,
    TierClassifier,
    TriggerFiring,
    WorkspacePreferences,
)
from escalade.store import DeferredRuns, TriggerOutcomeRecorder, WriteBehind

__all__ = ["Escalade", "stored_preferences"]

logger = logging.getLogger(__name__)

WORKFLOW = "generate"


def stored_preferences(store: object | None, workspace: str) -> WorkspacePreferences | None:
    """The workspace's preferences as ``store`` keeps them (``None``: it keeps none, or none for the workspace)."""
    read = getattr(store, "workspace_preferences", None)
    if read is None:
        return None
    found = read(workspace)
    return found if isinstance(found, WorkspacePreferences) else None


def _ladder(config: EscalationConfig, provider: Provider) -> EscalationConfig:
    """``config`` with the provider's default models on tiers that name none (SDK adapters have defaults)."""
    defaults: Mapping[str, tuple[str, ...]] = getattr(provider, "default_models", {}) or {}
    if all(t.models for t in config.tiers) or not defaults:
        return config
    tiers = Ladder(t if t.models else replace(t, models=defaults.get(t.name, ())) for t in config.tiers)
    return config.replace(tiers=tiers)


def _judged_by(config: EscalationConfig, policy: QualityPolicy | None) -> EscalationConfig:
    """``config`` with every tier's CQS bar set to the quality policy's, when it names one."""
    if policy is None or policy.threshold is None:
        return config
    bar = policy.threshold
    return config.replace(tiers=Ladder(replace(t, threshold=bar) for t in config.tiers))


def _policy_scorer(policy: QualityPolicy | None, task_kind: str) -> ScorerLike | None:
    """The scorer the workspace's quality policy names (``None``: the cascade's default)."""
    if policy is None:
        return None
    policy.check_scorer(available(SCORERS))
    return make_scorer(policy.scorer, ScorerSetup(task_kind=task_kind)).scorer


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop``; from inside another running loop (a finalizer can run there), without draining it first."""
    if loop.is_closed():
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


class Escalade:
    """One request at a time through routing, the budget, the cascade and the store.

    ``router`` is a :class:`~escalade.routing.Router`, or a classifier (a learned router's
    :class:`~escalade.routing.LearnedClassifier`, say) that a default router then uses. Everything
    not given has a default: a ledger in memory kept across this object's requests, no budget caps,
    the cascade's consensus scorer, a team of one agent on every tier (a conversation is sent as
    it is, never split between agents). The configuration's ``max_cost`` caps each request, and a
    request whose worst case passes ``auto_approve_under`` asks ``approval`` (none: refused).
    With ``write_behind``, the run is stored after the answer, in the writer's batches, not as it
    happens (:class:`~escalade.store.WriteBehind`: what a server answering many requests wants).
    ``hold_ttl_s`` is how long each call's budget reservation lasts before another process may
    reclaim it (a call is given up at 90 % of it, so that a live process never loses its hold).
    """

    def __init__(
        self,
        store: Any | None = None,
        workspace: str = "default",
        config: EscalationConfig | None = None,
        *,
        provider: Provider,
        router: Router | TierClassifier | None = None,
        scorer: ScorerLike | None = None,
        ledger: BudgetLedger | None = None,
        workspace_budget: WorkspaceBudget | None = None,
        preferences: WorkspacePreferences | None = None,
        cache_router: CacheAwareRouter | None = None,
        estimator: CostEstimator | None = None,
        approval: ApprovalCallback | None = None,
        listeners: Iterable[RunListener] = (),
        write_behind: WriteBehind | None = None,
        teams: Callable[[Tier], TeamStrategy] | None = None,
        task_kind: str = "short-answer",
        hold_ttl_s: float = 900.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.workspace = workspace
        #: The workspace's routing bounds, auto-escalation switch and quality policy.
        self.preferences = preferences or stored_preferences(store, workspace) or WorkspacePreferences()
        policy = self.preferences.quality_policy
        self.config = _judged_by(_ladder(config or EscalationConfig(), provider), policy)
        self.provider = provider
        ladder = self.config.tiers
        self.preferences.check(ladder)
        if scorer is None:
            scorer = _policy_scorer(policy, task_kind)
        self.router = self._router(router, ladder)
        self.ledger = ledger or (store.ledger() if store is not None else MemoryLedger())
        if workspace_budget is None and store is not None:
            workspace_budget = store.workspace_budget(workspace)
        #: The workspace's monthly and per-request caps (its month is counted even without a cap).
        self.workspace_budget = workspace_budget or WorkspaceBudget(workspace=workspace)
        book = getattr(provider, "price_book", None)
        #: Orders a tier's models by expected cost with warm caches, and learns cache hits from each call.
        self.cache_router = cache_router or CacheAwareRouter(book=book, expected_output_tokens=256)
        self.task_kind = task_kind
        one = SingleAgent()
        self.triggers: TriggerOutcomeRecorder | None = None
        listening: list[RunListener] = list(listeners)
        #: The store's listener when runs are written behind (``None``: written as they happen).
        self._deferred: DeferredRuns | None = None
        if store is not None:
            self.triggers = TriggerOutcomeRecorder(store, tiers=ladder.names, workspace=workspace)
            stored: list[RunListener] = [store, self.triggers]
            if write_behind is not None:
                self._deferred = write_behind.listener(stored)
                stored = [self._deferred]
            listening = [*stored, *listening]
        self.executor = ProgressiveExecutor(
            self.config,
            provider,
            scorer=scorer,
            estimator=estimator,
            approval=approval,
            listeners=listening,
            teams=teams or (lambda tier: one),
            workflow=WORKFLOW,
            ledger=self.ledger,
            workspace_budget=self.workspace_budget,
            model_order=self._model_order,
            call_observer=self.cache_router,
            hold_ttl_s=hold_ttl_s,
            sleep=sleep,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: weakref.finalize[Any, Any] | None = None

    def _router(self, router: Router | TierClassifier | None, ladder: Ladder) -> Router:
        """The router to use, with the workspace's preferences (a ``default_tier`` wins over its classifier)."""
        if router is None:
            return Router(ladder, preferences=self.preferences)
        if isinstance(router, Router):
            if router.ladder != ladder:
                raise ConfigError("the router's ladder is not the configuration's ladder", field="router")
            return replace(router, preferences=self.preferences)
        return Router(ladder, classifier=router, preferences=self.preferences)

    def _model_order(self, tier: Tier, item: WorkItem) -> Sequence[str]:
        texts = [m.content or "" for m in item.options.messages]
        return self.cache_router.rank_models(tier, "\n\n".join([*texts, item.prompt]))

    # -- the request ------------------------------------------------------------------------------------
    def route(
        self, prompt: str, *, task_type: str | None = None, tier: str | None = None, files: Mapping[str, str] = {}
    ) -> RoutingDecision:
        """Where a request would start, and why (no call is made)."""
        return self.router.route(_task(prompt, task_type, files), self.preferences, override=tier)

    def ceiling(self, decision: RoutingDecision) -> str | None:
        """The highest tier the request may climb to: its start with auto-escalation off, else ``max_tier``."""
        if not self.preferences.auto_escalation:
            return decision.tier
        cap = self.preferences.max_tier
        ladder = self.config.tiers
        if cap is None or ladder.index_of(decision.tier) > ladder.index_of(cap):  # an override above the cap
            return decision.tier if cap is not None else None
        return cap

    async def agenerate(
        self,
        prompt_or_messages: PromptOrMessages,
        *,
        task_type: str | None = None,
        tier: str | None = None,
        files: Sequence[str | Path] | Mapping[str, str] = (),
        tools: Sequence[Tool] = (),
        tool_choice: str | None = None,
        response_format: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
        user: str | None = None,
        climb: bool = True,
        request_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> GenerateResult:
        """Answer one request: route, reserve, call, judge, climb if needed, settle, store.

        ``tier`` overrides the routing; ``climb=False`` keeps the request on its start tier (it still
        falls back to the tier's other models); ``files`` (paths to read, or contents by path) are
        analysed for routing and shown to the model before the prompt; ``request_id`` names the
        request (a replay looks its row up by it). An option the provider cannot honour (``seed``
        on Anthropic) is a :class:`ConfigError` naming it, raised before anything is spent.
        """
        started = time.perf_counter()
        prompt, history = split_prompt(prompt_or_messages)
        contents = dict(files) if isinstance(files, Mapping) else read_files(files) if files else {}
        routed = prompt or "\n\n".join(m.content or "" for m in history if m.role == "user")
        task = _task(routed, task_type, contents)
        decision = self.router.route(task, self.preferences, override=tier)
        options = RequestOptions(
            messages=(*history, files_message(contents)) if contents else history,
            tools=tuple(tools),
            tool_choice=tool_choice,
            response_format=response_format,
            temperature=temperature,
            stop=tuple(stop),
            max_output_tokens=max_tokens,
            seed=seed,
            user=user,
        )
        if (name := unhonoured_option(self.provider, options)) is not None:
            raise ConfigError(f"the upstream cannot honour {name!r}; leave it out", field=name)
        unique = uuid.uuid4().hex
        item = WorkItem(
            id=request_id or unique[:12],
            prompt=prompt,
            task_kind=self.task_kind,
            start_tier=decision.tier,
            max_tier=self.ceiling(decision) if climb else decision.tier,
            options=options,
            metadata=dict(metadata or {}),
        )
        run_id = f"{WORKFLOW}-{item.id}-{unique[12:18]}"
        if self.triggers is not None:
            self.triggers.track(item.id, TriggerFiring.from_decision(self.router, task, decision, self.preferences))
        try:
            run = await self.executor.run([item], run_id=run_id)
        except BudgetExceededError as exc:
            cause = exc.__cause__  # the run's stop re-raises the refusal, which knows the line
            line = exc.line or (cause.line if isinstance(cause, BudgetExceededError) else None)
            raise BudgetExceededError(
                f"workspace {self.workspace!r}: the budget refused the request: {exc}",
                partial_result=exc.partial_result,
                line=line,
                requested_usd=exc.requested_usd,
            ) from exc
        finally:
            self._abandon(run_id)
        outcome = run.items[0]
        lines = self._lines(run_id, item.id)
        refused = [a for t in outcome.tiers for a in t.attempts if a.error_cause == "request budget"]
        if refused and outcome.final_answer is None and not outcome.final_tool_calls:
            limit = self.workspace_budget.per_request_limit_usd
            raise BudgetExceededError(
                f"workspace {self.workspace!r}: the request's next call could pass its per-request limit "
                f"(${limit}): {refused[-1].error}",
                partial_result=run,
            )
        return result_of(outcome, decision, run_id=run_id, lines=lines, latency_s=time.perf_counter() - started)

    def _abandon(self, run_id: str) -> None:
        """A run written behind that did not finish (cancelled, failed) is handed over as far as it went."""
        if self._deferred is not None:
            self._deferred.abandon(run_id)

    def _lines(self, run_id: str, item_id: str) -> tuple[str, ...]:
        """The ledger lines a request's calls are reserved and settled on."""
        budget = self.workspace_budget
        lines = [run_line(run_id)]
        if budget.per_request_limit_usd is not None:
            lines.append(request_line(run_id, item_id))
        lines.append(budget.month_line(datetime.now(UTC)))
        return tuple(lines)

    def generate(self, prompt_or_messages: PromptOrMessages, **kwargs: Any) -> GenerateResult:
        """Blocking form of :meth:`agenerate` (same arguments); not callable from a running event loop.

        Requests share one event loop, kept until :meth:`close`, so a provider's connections are reused.
        (It is driven with ``run_until_complete``, not :class:`asyncio.Runner`, whose per-call SIGINT
        handler alone costs about a millisecond.)
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise ConfigError("generate() blocks; inside an event loop, use `await escalade.agenerate(...)`")
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._closer = weakref.finalize(self, _close, self._loop)  # closed with this object at the latest
        return self._loop.run_until_complete(self.agenerate(prompt_or_messages, **kwargs))

    def close(self) -> None:
        """Close the event loop :meth:`generate` keeps (a later call opens a new one)."""
        if self._closer is not None:
            self._closer()
        self._loop = self._closer = None

    def __enter__(self) -> Escalade:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _task(prompt: str, task_type: str | None, files: Mapping[str, str]) -> Task:
    return Task(prompt, task_type=task_type, files=tuple(files), file_contents=files)
