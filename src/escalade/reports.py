"""Text reports of runs, shared by fresh results and stored runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

__all__ = ["RunFigures", "percent", "render_report", "run_summary_dict"]


class RunFigures(Protocol):
    """What a fresh result and a stored run both report."""

    @property
    def run_id(self) -> str: ...
    @property
    def workflow(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def metrics(self) -> Mapping[str, Any]: ...
    @property
    def total_cost(self) -> float: ...
    @property
    def premium_baseline_cost(self) -> float: ...
    @property
    def cost_savings(self) -> float: ...
    @property
    def cost_savings_percent(self) -> float | None: ...
    @property
    def escalation_rate(self) -> float: ...
    @property
    def success_rate(self) -> float: ...
    @property
    def warnings(self) -> Sequence[str]: ...
    @property
    def notes(self) -> Sequence[str]: ...


def run_summary_dict(run: RunFigures, **extra: Any) -> dict[str, Any]:
    """The JSON summary shared by ``run --json`` and ``show --json`` (``extra`` adds fields)."""
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        **dict(run.metrics),
        "total_cost": run.total_cost,
        "premium_baseline_cost": run.premium_baseline_cost,
        "cost_savings": run.cost_savings,
        "cost_savings_percent": run.cost_savings_percent,
        "escalation_rate": run.escalation_rate,
        "success_rate": run.success_rate,
        "warnings": list(run.warnings),
        "notes": list(run.notes),
        **extra,
    }


def _value(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def percent(value: float | None) -> str:
    """A percentage, or n/a when there was nothing to compare with."""
    return "n/a" if value is None else f"{value:.1f}%"


def render_report(summary: Mapping[str, Any], metrics: Mapping[str, Any], notes: Iterable[str] = ()) -> str:
    """Render a run summary (the shape of ``ProgressiveWorkflowResult.to_dict()``) as text."""
    items = summary.get("items_done", summary.get("items_total"))
    lines = [
        f"Run {summary['run_id']} ({summary['workflow']}): {summary['status']}",
        f"Items: {items}   escalation rate: {summary['escalation_rate']:.1%}   "
        f"accepted by a quality bar: {summary['success_rate']:.1%}",
    ]
    lines += [f"{k}: {_value(v)}" for k, v in metrics.items()]
    lines.append("")
    lines.append(
        f"{'tier':<10} {'items':>6} {'final':>6} {'climbed':>8} {'attempts':>9} {'cost $':>12} {'mean CQS':>9}"
    )
    for name, t in summary["tiers"].items():
        cqs = f"{t['mean_cqs']:.1f}" if t["mean_cqs"] is not None else "-"
        lines.append(
            f"{name:<10} {t['items']:>6} {t['final_items']:>6} {t['escalated']:>8} {t['attempts']:>9} "
            f"{t['cost_usd']:>12.6f} {cqs:>9}"
        )
    lines += [
        "",
        f"Total cost:            ${summary['total_cost']:.6f}",
        f"Premium-only baseline: ${summary['premium_baseline_cost']:.6f}",
        f"Savings:               ${summary['cost_savings']:.6f} ({percent(summary['cost_savings_percent'])})",
    ]
    lines += [f"note: {n}" for n in notes]
    lines += [f"warning: {w}" for w in summary.get("warnings", ())]
    return "\n".join(lines)
