"""``escalade list``, ``show`` and ``cleanup``: stored runs."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

__all__ = ["cleanup_command", "list_command", "show_command"]


@handle_errors
def list_command(
    limit: Annotated[int | None, typer.Option(help="Show at most N runs.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List stored runs, newest first."""
    from escalade.cascade import percent

    runs = open_store(db).list_runs(limit=limit)
    if json_out:
        print_json(json.dumps([r.to_dict() for r in runs]))
        return
    if not runs:
        out_console().print("No stored runs.")
        return
    columns = ("run id", "workflow", "status", "started (UTC)", "items", "answered", "cost $", "savings", "escalated")
    table = Table(*columns)
    for r in runs:
        table.add_row(
            r.run_id,
            r.workflow,
            r.status,
            f"{r.started_at:%Y-%m-%d %H:%M}",
            f"{r.items_worked}/{r.items_total}",
            str(r.items_answered),
            f"{r.total_cost:.4f}",
            percent(r.cost_savings_percent),
            f"{r.escalation_rate:.1%}",
        )
    out_console().print(table)


@handle_errors
def show_command(
    run_id: Annotated[str, typer.Argument(help="Id of a stored run (see `escalade list`).")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show one stored run."""
    from escalade.cascade import render_report

    summary = open_store(db).get_run(run_id)
    if json_out:
        print_json(json.dumps(summary.to_dict()))
    else:
        out_console().print(render_report(summary.to_dict(), summary.metrics, summary.notes), markup=False)


@handle_errors
def cleanup_command(
    retention_days: Annotated[int, typer.Option("--retention-days", help="Keep runs younger than N days.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would be deleted.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Delete stored runs and telemetry older than the retention period."""
    if retention_days < 0:
        raise fail(f"--retention-days must be >= 0, got {retention_days}")
    report = open_store(db).cleanup(retention_days, dry_run=dry_run)
    if json_out:
        print_json(
            json.dumps(
                {
                    "cutoff": report.cutoff.isoformat(),
                    "dry_run": report.dry_run,
                    "runs": report.runs,
                    "attempts": report.attempts,
                    "telemetry_events": report.telemetry_events,
                    "budget_holds": report.budget_holds,
                    "run_ids": report.run_ids,
                }
            )
        )
        return
    verb = "Would delete" if dry_run else "Deleted"
    out_console().print(
        f"{verb} {report.runs} run(s), {report.attempts} attempt(s), {report.telemetry_events} telemetry event(s) "
        f"and {report.budget_holds} finished budget hold(s) older than {report.cutoff:%Y-%m-%d %H:%M} UTC.",
        markup=False,
    )
