"""``escalade analytics``: cost, savings and rates over stored runs."""

from __future__ import annotations

import json

from rich.table import Table

from escalade.analytics import generate_cost_analytics
from escalade.cli.common import DbOption, JsonOption, handle_errors, open_store, out_console, print_json
from escalade.reports import percent

__all__ = ["analytics_command"]


@handle_errors
def analytics_command(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Aggregate cost, savings, escalation and success rates over all stored runs."""
    a = generate_cost_analytics(open_store(db).list_runs())
    if json_out:
        print_json(json.dumps(a.to_dict()))
        return
    out_console().print(
        f"Total runs: {a.total_runs}   items: {a.total_items}\n"
        f"Total cost: ${a.total_cost:.4f}   premium-only baseline: ${a.total_baseline_cost:.4f}\n"
        f"Total savings: ${a.total_savings:.4f}   average savings: {percent(a.avg_savings_percent)}\n"
        f"Escalation rate: {a.escalation_rate:.1%}   success rate: {a.success_rate:.1%}",
        markup=False,
    )
    if a.workflow_stats:
        table = Table("workflow", "runs", "avg cost $", "savings $", "avg savings", "success", "escalated")
        for name, s in a.workflow_stats.items():
            table.add_row(
                name,
                str(s.runs),
                f"{s.avg_cost:.4f}",
                f"{s.total_savings:.4f}",
                percent(s.avg_savings_percent),
                f"{s.success_rate:.1%}",
                f"{s.escalation_rate:.1%}",
            )
        out_console().print(table)
