"""What every command that runs the ladder shares: progress, approval prompts, stopping cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from escalade.budget import ApprovalRequest
from escalade.cascade import ItemResult, ProgressiveWorkflowResult, RunListener, cause_counts
from escalade.cli.common import EXIT_FAILED_RUN, err_console, exit_code, fail, out_console
from escalade.exceptions import RunStoppedError
from escalade.ladder import EscalationConfig
from escalade.store import SqlStore

__all__ = [
    "ProgressListener",
    "RunSetup",
    "approver",
    "exit_for",
    "interactive",
    "interrupted",
    "progress_bar",
    "until_terminated",
]

_T = TypeVar("_T")


class ProgressListener(RunListener):
    """Advances a progress bar as items finish."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("items", total=total)

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        self._progress.advance(self._task)


class RunSetup(RunListener):
    """Stores what the run is (dataset, scorer, target, tier mapping) as soon as it starts."""

    def __init__(self, store: SqlStore, metrics: dict[str, Any], notes: tuple[str, ...]) -> None:
        self._store, self._metrics, self._notes = store, metrics, notes

    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self._store.set_metrics(run_id, self._metrics, notes=self._notes)


def progress_bar(*, json_out: bool) -> Progress:
    """A progress bar on stderr, drawn only when both outputs are a terminal and the output is not ``--json``.

    Piped or JSON output is read by a program, and a bar in between would only get in its way.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        disable=json_out or not (out_console().is_terminal and err_console().is_terminal),
        transient=True,
    )


def interactive() -> bool:
    """Whether a person can answer a prompt on stdin."""
    return sys.stdin.isatty()


def approver(yes: bool, progress: Progress) -> Callable[[ApprovalRequest], bool]:
    """The approval callback of a CLI run: ``--yes``, a prompt at a terminal, else a refusal that says why."""

    def approve(request: ApprovalRequest) -> bool:
        if yes:
            return True
        if not interactive():
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


def exit_for(result: ProgressiveWorkflowResult, stopped: RunStoppedError | None) -> None:
    """After the report: exit 1 when the run was stopped or answered nothing; warn when some items have no answer."""
    if stopped is not None:
        raise fail(str(stopped), exit_code(stopped))
    errors = cause_counts(result.error_counts)
    why = f" (errors: {errors})" if errors else ""
    show = f"escalade show {result.run_id}"
    if result.status == "failed":
        raise fail(f"no item was answered{why}: run {result.run_id} is stored as failed ({show})", EXIT_FAILED_RUN)
    if result.status == "partial":
        missing = len(result.items) - result.items_answered
        err_console().print(
            f"warning: {missing} of {len(result.items)} items have no answer{why}: run {result.run_id} is stored "
            f"as partial ({show})",
            markup=False,
        )


def interrupted(store: SqlStore, run_id: str, interrupt: BaseException) -> typer.Exit:
    """After Ctrl-C or SIGTERM: mark the run interrupted (its finished attempts stay), say so; the exit to raise."""
    store.mark_interrupted(run_id)
    return fail(f"interrupted: run {run_id} keeps its finished attempts (escalade show {run_id})", exit_code(interrupt))


async def until_terminated(run: Coroutine[Any, Any, _T]) -> _T:
    """Await ``run``; SIGTERM cancels it at the next await, as Ctrl-C does (never inside a database write)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await run
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
