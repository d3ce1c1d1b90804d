"""``escalade analytics``: cost, savings and rates over stored runs, each kind of run apart."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.table import Table

from escalade.cli.common import DbOption, JsonOption, handle_errors, open_store, out_console, print_json

if TYPE_CHECKING:
    from escalade.reporting import CostAnalytics, RunGroupStats

__all__ = ["analytics_command"]

#: How each kind of run is headed in the text report.
_HEADINGS = {
    "routing": "Routing and cascade runs (the totals)",
    "test-generation": "Test generation (apart)",
    "offline": "Offline ceilings, oracle scorer (apart, never a real policy)",
}


def _section(heading: str, g: RunGroupStats) -> str:
    from escalade.cascade import percent

    return (
        f"{heading}: {g.runs} run(s), {g.items_worked} items worked, {g.items_answered} answered\n"
        f"  cost ${g.total_cost:.4f} (answered items ${g.answered_cost:.4f})   "
        f"premium-only baseline ${g.baseline_cost:.4f} (answered items)\n"
        f"  savings ${g.total_savings:.4f} ({percent(g.savings_percent)}; mean of runs "
        f"{percent(g.avg_savings_percent)})   escalation rate {g.escalation_rate:.1%}   "
        f"success rate {g.success_rate:.1%}"
    )


def _table(a: CostAnalytics) -> Table:
    from escalade.cascade import percent

    table = Table("workflow", "kind", "runs", "avg cost $", "savings $", "avg savings", "success", "escalated")
    for name, s in a.workflow_stats.items():
        table.add_row(
            name,
            s.kind,
            str(s.runs),
            f"{s.avg_cost:.4f}",
            f"{s.total_savings:.4f}",
            percent(s.avg_savings_percent),
            f"{s.success_rate:.1%}",
            f"{s.escalation_rate:.1%}",
        )
    return table


@handle_errors
def analytics_command(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Cost, savings, escalation and success rates over stored runs; offline and test-generation runs apart."""
    from escalade.reporting import generate_cost_analytics

    a = generate_cost_analytics(open_store(db).list_runs())
    if json_out:
        print_json(json.dumps(a.to_dict()))
        return
    sections = [_section(_HEADINGS[kind], stats) for kind, stats in a.groups.items()]
    out_console().print("\n".join(sections), markup=False)
    if a.workflow_stats:
        out_console().print(_table(a))
