"""``escalade run``: the ladder over a recorded benchmark with the replay provider (no API keys)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from escalade.budget import ApprovalRequest
from escalade.cascade import ProgressiveExecutor, RunListener, WorkItem, new_run_id
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
from escalade.datasets import load_dataset
from escalade.exceptions import RunStoppedError
from escalade.plugins import ScorerSetup, make_scorer
from escalade.providers.replay import ReplayProvider
from escalade.replay import accuracy_metrics, plan_replay, premium_baseline
from escalade.results import ItemResult
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
        progress.stop()
        try:
            return typer.confirm(
                f"The run has spent ${request.spent_usd + request.reserved_usd:.4f} (in flight included); "
                f"continuing passes ${request.auto_approve_under:.2f} (max_cost {cap}). Continue?",
                default=False,
                err=True,
            )
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
    concurrency: Annotated[int | None, typer.Option(help="Items worked on at once.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve spending above auto_approve_under.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Run the tier ladder over recorded real outcomes and report cost, savings and accuracy."""
    if concurrency is not None and concurrency < 1:
        raise fail(f"--concurrency must be at least 1, got {concurrency}")
    dataset = load_dataset(dataset_dir)
    cfg = load_config(config)
    if concurrency is not None:
        cfg = cfg.replace(max_concurrency=concurrency)
    split = split or dataset.default_split()
    plan = plan_replay(dataset, split, cfg, limit=limit)
    built = make_scorer(scorer, ScorerSetup(task_kind=dataset.task_kind), rows=plan.rows)
    workflow = "replay-offline" if built.offline else "replay"
    store = open_store(db)
    baseline = premium_baseline(plan)
    setup = {"dataset": dataset.name, "split": split, "scorer": scorer, "offline_scorer": built.offline}
    listeners: list[RunListener] = [
        store,
        _RunSetup(store, setup, plan.notes),
        ProgressiveTelemetry(store, workflow_name=workflow),
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
        ReplayProvider(plan.rows),
        scorer=built.scorer,
        approval=_approver(yes, progress),
        listeners=listeners,
        baseline=lambda item: baseline[item.id],
        workflow=workflow,
    )
    run_id = new_run_id(workflow)
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
    metrics = {**setup, **accuracy_metrics(plan, result)}
    store.set_metrics(run_id, metrics, notes=plan.notes)
    result = dataclasses.replace(result, metrics=metrics, notes=plan.notes)
    if json_out:
        print_json(json.dumps(result.to_dict(include_items=False)))
    else:
        if built.offline:
            out_console().print(
                f"OFFLINE scorer {scorer!r}: reads recorded grades; a ceiling, not a real policy.", markup=False
            )
        out_console().print(result.generate_report(), markup=False)
    if stopped is not None:
        raise fail(str(stopped), 1)
