"""``escalade testgen FILE``: pytest tests for each function and class of a file, cheap tier first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json
from escalade.exceptions import RunStoppedError

if TYPE_CHECKING:
    from rich.progress import Progress

    from escalade.cascade import RunListener
    from escalade.store import SqlStore
    from escalade.testgen import ProgressiveTestGenWorkflow

__all__ = ["generate_tests_command"]


@handle_errors
def generate_tests_command(
    target: Annotated[Path, typer.Argument(help="The Python file to write tests for.")],
    answers: Annotated[
        Path | None, typer.Option(help="Recorded model answers (escalade-testgen-answers/1): no key, no network.")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="A live provider instead: openai or anthropic.")] = None,
    out: Annotated[Path, typer.Option(help="Where the passing tests are written.")] = Path("generated_tests"),
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file.")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds one run of generated tests may take.")] = 30.0,
    memory_mb: Annotated[int, typer.Option(help="Memory one run of generated tests may use, in MiB.")] = 1024,
    allow_weak_sandbox: Annotated[
        bool,
        typer.Option(
            "--allow-weak-sandbox",
            help="Run generated tests even where the sandbox cannot isolate them as required (the run says so).",
        ),
    ] = False,
    base_url: Annotated[str | None, typer.Option("--base-url", help="The live provider's API elsewhere.")] = None,
    workspace: Annotated[str | None, typer.Option(help="Workspace whose keys and budget a live run uses.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Items worked on at once.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve spending above auto_approve_under.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Generate tests per function and class, run them in a sandbox, climb only where their CQS is low."""
    from escalade.cli.live import check_live_options, live_resources
    from escalade.cli.running import ProgressListener, RunSetup, approver, progress_bar
    from escalade.ladder import load_config
    from escalade.providers import default_ladder
    from escalade.reporting import ProgressiveTelemetry
    from escalade.testgen import (
        ProgressiveTestGenWorkflow,
        RecordedAnswers,
        Sandbox,
        SandboxLimits,
        check_out_dir,
        find_targets,
        sandbox_notes,
    )

    if (answers is None) == (provider is None):
        raise fail("give either --answers FILE (recorded answers) or --provider openai|anthropic")
    if concurrency is not None and concurrency < 1:
        raise fail(f"--concurrency must be at least 1, got {concurrency}")
    live = check_live_options(
        provider or "recorded", offline="recorded", workspace=workspace, base_url=base_url, stream=False,
        cache_prompts=False, timeout=None, unknown_prices=None,
    )  # fmt: skip
    module = find_targets(target)
    check_out_dir(out)
    sandbox = Sandbox(SandboxLimits(time_s=time_limit, memory_mb=memory_mb), require_isolation=not allow_weak_sandbox)
    sandbox.check(module.path)  # before a run is stored or anything spent
    cfg = load_config(config)
    if concurrency is not None:
        cfg = cfg.replace(max_concurrency=concurrency)
    store = open_store(db)
    progress = progress_bar(json_out=json_out)
    notes = sandbox_notes(sandbox.isolation(), sandbox.missing_isolation())
    listeners: list[RunListener] = [
        store,
        RunSetup(store, {"target_file": str(module.path), "out_dir": str(out)}, notes),
        ProgressiveTelemetry(store, workflow_name=ProgressiveTestGenWorkflow.workflow_name),
        ProgressListener(progress, len(module.targets)),
    ]
    if live is None:
        assert answers is not None
        workflow = ProgressiveTestGenWorkflow(
            cfg, RecordedAnswers.from_file(answers), sandbox=sandbox, listeners=listeners
        )
    else:
        used = live_resources(store, live, expected_output_tokens=cfg.max_output_tokens // 4)
        if not any(t.models for t in cfg.tiers):
            cfg = cfg.replace(tiers=default_ladder(live.provider, cfg.tiers))
        workflow = ProgressiveTestGenWorkflow(
            cfg, used.provider, sandbox=sandbox, listeners=listeners, ledger=used.ledger,
            workspace_budget=used.workspace_budget, call_observer=used.router,
            model_order=lambda tier, item: used.router.rank_models(tier, item.prompt),
        )  # fmt: skip
    workflow.approval = approver(yes, progress)
    _run(workflow, store, target, out, progress=progress, notes=notes, json_out=json_out)


def _run(
    workflow: ProgressiveTestGenWorkflow,
    store: SqlStore,
    target: Path,
    out: Path,
    *,
    progress: Progress,
    notes: tuple[str, ...],
    json_out: bool,
) -> None:
    """Execute, store the figures, print the report; exit 1 when the run was stopped or answered nothing."""
    import asyncio

    from escalade.cascade import new_run_id
    from escalade.cli.running import exit_for, interrupted, until_terminated
    from escalade.testgen import TestGenResult

    run_id = new_run_id(workflow.workflow_name)
    stopped: RunStoppedError | None = None
    try:
        with progress:
            run = workflow.execute_async(run_id=run_id, target_file=target, out_dir=out)
            result = asyncio.run(until_terminated(run))
    except RunStoppedError as exc:
        if not isinstance(exc.partial_result, TestGenResult):
            raise
        stopped, result = exc, exc.partial_result
    except (KeyboardInterrupt, asyncio.CancelledError) as interrupt:
        raise interrupted(store, run_id, interrupt) from None
    kept = sum(k.kept for k in result.kept)
    metrics = {"target_file": result.target_file, "out_dir": str(out), "tests_kept": kept}
    metrics |= {"files_written": len(result.kept), "untrusted_runs": result.untrusted_runs}
    store.set_metrics(run_id, metrics, notes=result.notes or notes)
    if json_out:
        print_json(json.dumps(result.to_dict()))
    else:
        out_console().print(result.generate_report(), markup=False)
    exit_for(result, stopped)
