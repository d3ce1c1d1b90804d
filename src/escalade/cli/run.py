"""``escalade run``: the ladder over a dataset, from recorded outcomes (no key) or live provider calls."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from escalade.budget import ApprovalRequest
from escalade.calls import CallObserver
from escalade.cascade import ModelOrder, ProgressiveExecutor, RunListener, WorkItem, new_run_id
from escalade.cli.common import (
    DbOption,
    JsonOption,
    err_console,
    fail,
    handle_errors,
    open_store,
    out_console,
    print_json,
)
from escalade.config import EscalationConfig, load_config
from escalade.datasets import BenchmarkDataset, load_dataset
from escalade.exceptions import RunStoppedError
from escalade.keys import KeyVault
from escalade.ledger import BudgetLedger, WorkspaceBudget
from escalade.plugins import ScorerSetup, make_scorer
from escalade.providers.base import Provider
from escalade.providers.live import LIVE_PROVIDERS, live_provider, plan_live
from escalade.providers.replay import ReplayProvider
from escalade.quality.scorers import Scorer
from escalade.replay import ReplayPlan, accuracy_metrics, plan_replay, premium_baseline, reference_metrics
from escalade.results import ItemResult, ProgressiveWorkflowResult
from escalade.routing.cache import CacheAwareRouter, CachePolicy, PrefixMemory, default_cache_policy
from escalade.store.sql import SqlStore
from escalade.telemetry import ProgressiveTelemetry

__all__ = ["run_command"]


class _ProgressListener(RunListener):
    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("items", total=total)

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        self._progress.advance(self._task)


def _interactive() -> bool:
    """Whether a person can answer a prompt on stdin."""
    return sys.stdin.isatty()


def _approver(yes: bool, progress: Progress) -> Callable[[ApprovalRequest], bool]:
    def approve(request: ApprovalRequest) -> bool:
        if yes:
            return True
        if not _interactive():
            err_console().print(
                f"spending above auto_approve_under (${request.auto_approve_under:.2f}) needs approval: "
                "rerun with --yes to approve non-interactively",
                markup=False,
            )
            return False
        cap = f"${request.max_cost:.2f}" if request.max_cost is not None else "no cap"
        if request.single_call:
            question = (
                f"The next {request.tier} call for item {request.item_id} could alone cost up to "
                f"${request.next_call_usd:.4f}, above ${request.auto_approve_under:.2f}. Send it?"
            )
        else:
            question = (
                f"The run has spent ${request.spent_usd + request.reserved_usd:.4f} (in flight included); "
                f"continuing passes ${request.auto_approve_under:.2f} (max_cost {cap}). Continue?"
            )
        progress.stop()
        try:
            return typer.confirm(question, default=False, err=True)
        finally:
            progress.start()

    return approve


class _RunSetup(RunListener):
    """Stores what the run is (dataset, split, scorer, tier mapping) as soon as it starts."""

    def __init__(self, store: SqlStore, metrics: dict[str, Any], notes: tuple[str, ...]) -> None:
        self._store, self._metrics, self._notes = store, metrics, notes

    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self._store.set_metrics(run_id, self._metrics, notes=self._notes)


async def _until_terminated(executor: ProgressiveExecutor, items: tuple[WorkItem, ...], run_id: str) -> Any:
    """Run the executor; SIGTERM cancels it at the next await (never inside a database write)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await executor.run(items, run_id=run_id)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


@dataclass(frozen=True, kw_only=True)
class _Setup:
    """What a run needs beyond the shared options: where answers come from and how they are judged."""

    plan: ReplayPlan
    provider: Provider
    scorer: Scorer
    workflow: str
    offline_scorer: bool
    #: Premium-only cost per item (``None``: the executor estimates it from prices).
    baseline: Callable[[WorkItem], float] | None = None
    ledger: BudgetLedger | None = None
    workspace_budget: WorkspaceBudget | None = None
    model_order: ModelOrder | None = None
    call_observer: CallObserver | None = None
    metrics: Callable[[ProgressiveWorkflowResult], dict[str, object]]


def _replay_setup(
    dataset: BenchmarkDataset, split: str, cfg: EscalationConfig, limit: int | None, scorer: str
) -> _Setup:
    """Recorded answers: no key, no real spend, so no shared ledger either."""
    plan = plan_replay(dataset, split, cfg, limit=limit)
    built = make_scorer(scorer, ScorerSetup(task_kind=dataset.task_kind), rows=plan.rows)
    baseline = premium_baseline(plan)
    return _Setup(
        plan=plan,
        provider=ReplayProvider(plan.rows),
        scorer=built.scorer,
        workflow="replay-offline" if built.offline else "replay",
        offline_scorer=built.offline,
        baseline=lambda item: baseline[item.id],
        metrics=lambda result: accuracy_metrics(plan, result),
    )


def _live_setup(
    dataset: BenchmarkDataset, split: str, cfg: EscalationConfig, limit: int | None, live: _LiveOptions, store: SqlStore
) -> _Setup:
    """Real calls with the workspace's key; spend is reserved on the store's ledger, month line included."""
    plan = plan_live(dataset, split, cfg, live.provider, limit=limit)
    built = make_scorer(live.scorer, ScorerSetup(task_kind=dataset.task_kind))  # offline scorers refuse: no grades
    provider = live_provider(
        live.provider,
        KeyVault(store),
        workspace=live.workspace,
        base_url=live.base_url,
        stream=live.stream,
        cache_prompts=live.cache_prompts,
        timeout_s=live.timeout_s,
        unknown_costs=live.unknown_prices,
    )
    router = CacheAwareRouter(
        PrefixMemory(policy=lambda model: _cache_policy(model, live)),
        expected_output_tokens=plan.config.max_output_tokens // 4,
    )
    return _Setup(
        plan=plan,
        provider=provider,
        scorer=built.scorer,
        workflow="live",
        offline_scorer=False,
        ledger=store.ledger(),
        workspace_budget=store.workspace_budget(live.workspace) or WorkspaceBudget(workspace=live.workspace),
        model_order=lambda tier, item: router.rank_models(tier, item.prompt),
        call_observer=router,
        metrics=lambda result: reference_metrics(plan, result, dataset.task_kind),
    )


def _cache_policy(model: str, live: _LiveOptions) -> CachePolicy:
    """The built-in policy, except that Claude prompts are written to the cache only with --cache-prompts."""
    policy = default_cache_policy(model)
    if "claude" in model.lower() and not live.cache_prompts:
        return dataclasses.replace(policy, writes=False)
    return policy


@dataclass(frozen=True, kw_only=True)
class _LiveOptions:
    provider: str
    scorer: str
    workspace: str
    base_url: str | None
    stream: bool
    cache_prompts: bool
    timeout_s: float
    unknown_prices: Literal["fail", "allow"]


@handle_errors
def run_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder of an escalade-benchmark/1 dataset.")],
    split: Annotated[str | None, typer.Option(help="Split to run (default: test, or the only split).")] = None,
    limit: Annotated[int | None, typer.Option(help="Run only the first N rows.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file.")] = None,
    scorer: Annotated[
        str,
        typer.Option(
            help="Scorer plugin: consensus (run-time signals), oracle (offline: reads grades), or one you installed."
        ),
    ] = "consensus",
    provider: Annotated[
        str,
        typer.Option(
            help="Where answers come from: replay (recorded outcomes, no key), or openai / anthropic (real calls "
            "with the workspace's key)."
        ),
    ] = "replay",
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="The provider's API at another address (openai: any compatible server)."),
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Stream live answers (usage from the stream).")] = False,
    cache_prompts: Annotated[
        bool, typer.Option("--cache-prompts", help="With --provider anthropic: mark prompts for prompt caching.")
    ] = False,
    workspace: Annotated[
        str | None, typer.Option(help="Workspace whose keys and budget a live run uses (default: default).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds a live call may take (default 60).")
    ] = None,
    unknown_prices: Annotated[
        str | None,
        typer.Option(
            "--unknown-prices",
            help="fail (default): a model with no known price is never called, as its spend cannot be guarded; "
            "allow: call it and count its bills as $0 (self-hosted models).",
        ),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Items worked on at once.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve spending above auto_approve_under.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Run the tier ladder over a dataset (recorded outcomes or live calls) and report cost, savings and accuracy."""
    if concurrency is not None and concurrency < 1:
        raise fail(f"--concurrency must be at least 1, got {concurrency}")
    live = _live_options(
        provider,
        scorer=scorer,
        workspace=workspace,
        base_url=base_url,
        stream=stream,
        cache_prompts=cache_prompts,
        timeout=timeout,
        unknown_prices=unknown_prices,
    )
    dataset = load_dataset(dataset_dir)
    cfg = load_config(config)
    if concurrency is not None:
        cfg = cfg.replace(max_concurrency=concurrency)
    split = split or dataset.default_split()
    store = open_store(db)
    if live is None:
        setup = _replay_setup(dataset, split, cfg, limit, scorer)
    else:
        setup = _live_setup(dataset, split, cfg, limit, live, store)
    _execute(setup, scorer, store, dataset.name, split, yes=yes, json_out=json_out)


def _live_options(
    provider: str,
    *,
    scorer: str,
    workspace: str | None,
    base_url: str | None,
    stream: bool,
    cache_prompts: bool,
    timeout: float | None,
    unknown_prices: str | None,
) -> _LiveOptions | None:
    """The options of a live run (``None`` for a replay), checked: each error is one clear line."""
    if provider not in ("replay", *LIVE_PROVIDERS):
        raise fail(f"--provider must be replay, {' or '.join(LIVE_PROVIDERS)}; got {provider!r}")
    live_only = {
        "--base-url": base_url is not None,
        "--stream": stream,
        "--workspace": workspace is not None,
        "--timeout": timeout is not None,
        "--unknown-prices": unknown_prices is not None,
    }
    if provider == "replay" and (given := [name for name, used in live_only.items() if used]):
        raise fail(f"{', '.join(given)} go(es) with a live --provider (openai or anthropic), not with replay")
    if provider != "anthropic" and cache_prompts:
        raise fail("--cache-prompts goes with --provider anthropic (OpenAI caches long prompts on its own)")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise fail(f"--timeout must be a number of seconds > 0, got {timeout}")
    if unknown_prices not in (None, "fail", "allow"):
        raise fail(f"--unknown-prices must be fail or allow, got {unknown_prices!r}")
    if provider == "replay":
        return None
    return _LiveOptions(
        provider=provider,
        scorer=scorer,
        workspace=workspace or "default",
        base_url=base_url,
        stream=stream,
        cache_prompts=cache_prompts,
        timeout_s=timeout or 60.0,
        unknown_prices="allow" if unknown_prices == "allow" else "fail",
    )


def _execute(
    setup: _Setup,
    scorer_name: str,
    store: SqlStore,
    dataset_name: str,
    split: str,
    *,
    yes: bool,
    json_out: bool,
) -> None:
    """Run the executor with the store, telemetry and a progress bar; report; exit 1 if the budget stopped it."""
    plan = setup.plan
    info = {"dataset": dataset_name, "split": split, "scorer": scorer_name, "offline_scorer": setup.offline_scorer}
    listeners: list[RunListener] = [
        store,
        _RunSetup(store, info, plan.notes),
        ProgressiveTelemetry(store, workflow_name=setup.workflow),
    ]
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        disable=not err_console().is_terminal,
        transient=True,
    )
    listeners.append(_ProgressListener(progress, len(plan.items)))
    executor = ProgressiveExecutor(
        plan.config,
        setup.provider,
        scorer=setup.scorer,
        approval=_approver(yes, progress),
        listeners=listeners,
        baseline=setup.baseline,
        workflow=setup.workflow,
        ledger=setup.ledger,
        workspace_budget=setup.workspace_budget,
        model_order=setup.model_order,
        call_observer=setup.call_observer,
    )
    run_id = new_run_id(setup.workflow)
    stopped: RunStoppedError | None = None
    try:
        with progress:
            result = asyncio.run(_until_terminated(executor, plan.items, run_id))
    except RunStoppedError as exc:
        if exc.partial_result is None:
            raise
        stopped, result = exc, exc.partial_result
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.mark_interrupted(run_id)
        raise fail(f"interrupted: run {run_id} keeps its finished attempts (escalade show {run_id})", 130) from None
    metrics = {**info, **setup.metrics(result)}
    store.set_metrics(run_id, metrics, notes=plan.notes)
    result = dataclasses.replace(result, metrics=metrics, notes=plan.notes)
    if json_out:
        print_json(json.dumps(result.to_dict(include_items=False)))
    else:
        if setup.offline_scorer:
            out_console().print(
                f"OFFLINE scorer {scorer_name!r}: reads recorded grades; a ceiling, not a real policy.", markup=False
            )
        out_console().print(result.generate_report(), markup=False)
    if stopped is not None:
        raise fail(str(stopped), 1)
