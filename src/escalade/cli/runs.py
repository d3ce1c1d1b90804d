"""``escalade list``, ``show`` and ``cleanup``: stored runs."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json
from escalade.store.base import RunSummary

__all__ = ["cleanup_command", "list_command", "render_summary", "show_command"]


@handle_errors
def list_command(
    limit: Annotated[int | None, typer.Option(help="Show at most N runs.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List stored runs, newest first."""
    runs = open_store(db).list_runs(limit=limit)
    if json_out:
        print_json(json.dumps([r.to_dict() for r in runs]))
        return
    if not runs:
        out_console.print("No stored runs.")
        return
    table = Table("run id", "workflow", "status", "started (UTC)", "items", "cost $", "savings", "escalated")
    for r in runs:
        table.add_row(
            r.run_id, r.workflow, r.status, f"{r.started_at:%Y-%m-%d %H:%M}", f"{r.items_done}/{r.items_total}",
            f"{r.total_cost:.4f}", f"{r.cost_savings_percent:.1f}%", f"{r.escalation_rate:.1%}",
        )
    out_console.print(table)


def render_summary(r: RunSummary) -> str:
    """Text report of a stored run."""
    lines = [
        f"Run {r.run_id} ({r.workflow}): {r.status}",
        f"Started {r.started_at:%Y-%m-%d %H:%M:%S} UTC; items {r.items_done}/{r.items_total}; "
        f"escalation rate {r.escalation_rate:.1%}; accepted by a quality bar {r.success_rate:.1%}",
    ]
    lines += [f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in r.metrics.items()]
    lines.append(f"\n{'tier':<10} {'items':>6} {'final':>6} {'climbed':>8} {'attempts':>9} {'cost $':>12} {'mean CQS':>9}")
    for name, t in r.tiers.items():
        cqs = f"{t['mean_cqs']:.1f}" if t["mean_cqs"] is not None else "-"
        lines.append(
            f"{name:<10} {t['items']:>6} {t['final_items']:>6} {t['escalated']:>8} {t['attempts']:>9} "
            f"{t['cost_usd']:>12.6f} {cqs:>9}"
        )
    lines += [
        "",
        f"Total cost:            ${r.total_cost:.6f}",
        f"Premium-only baseline: ${r.premium_baseline_cost:.6f}",
        f"Savings:               ${r.cost_savings:.6f} ({r.cost_savings_percent:.1f}%)",
    ]
    lines += [f"warning: {w}" for w in r.warnings]
    return "\n".join(lines)


@handle_errors
def show_command(
    run_id: Annotated[str, typer.Argument(help="Id of a stored run (see `escalade list`).")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show one stored run."""
    summary = open_store(db).get_run(run_id)
    if json_out:
        print_json(json.dumps(summary.to_dict()))
    else:
        out_console.print(render_summary(summary), markup=False)


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
        print_json(json.dumps({
            "cutoff": report.cutoff.isoformat(), "dry_run": report.dry_run, "runs": report.runs,
            "attempts": report.attempts, "telemetry_events": report.telemetry_events, "run_ids": report.run_ids,
        }))
        return
    verb = "Would delete" if dry_run else "Deleted"
    out_console.print(
        f"{verb} {report.runs} run(s), {report.attempts} attempt(s) and {report.telemetry_events} telemetry event(s) "
        f"older than {report.cutoff:%Y-%m-%d %H:%M} UTC.",
        markup=False,
    )
