"""Text reports of runs, shared by fresh results and stored runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

__all__ = ["RunFigures", "cause_counts", "percent", "render_report", "run_summary_dict"]


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
    def items_worked(self) -> int: ...
    @property
    def items_answered(self) -> int: ...
    @property
    def answered_cost(self) -> float: ...
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
    @property
    def error_counts(self) -> Mapping[str, int]: ...


def run_summary_dict(run: RunFigures, **extra: Any) -> dict[str, Any]:
    """The JSON summary shared by ``run --json`` and ``show --json`` (``extra`` adds fields)."""
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        **dict(run.metrics),
        "items_worked": run.items_worked,
        "items_answered": run.items_answered,
        "total_cost": run.total_cost,
        "answered_cost": run.answered_cost,
        "premium_baseline_cost": run.premium_baseline_cost,
        "cost_savings": run.cost_savings,
        "cost_savings_percent": run.cost_savings_percent,
        "escalation_rate": run.escalation_rate,
        "success_rate": run.success_rate,
        "errors": dict(run.error_counts),
        "warnings": list(run.warnings),
        "notes": list(run.notes),
        **extra,
    }


def _value(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def cause_counts(errors: Mapping[str, int]) -> str:
    """Failed attempts by cause as text.

    >>> cause_counts({"connection": 2, "authentication": 1})
    'connection 2, authentication 1'
    """
    return ", ".join(f"{cause} {n}" for cause, n in errors.items())


def percent(value: float | None) -> str:
    """A percentage, or n/a when there was nothing to compare with."""
    return "n/a" if value is None else f"{value:.1f}%"


def render_report(summary: Mapping[str, Any], metrics: Mapping[str, Any], notes: Iterable[str] = ()) -> str:
    """Render a run summary (the shape of ``ProgressiveWorkflowResult.to_dict()``) as text."""
    lines = [f"Run {summary['run_id']} ({summary['workflow']}): {summary['status']}", *_head(summary)]
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
    lines += ["", *_money(summary)]
    lines += [f"note: {n}" for n in notes]
    lines += [f"warning: {w}" for w in summary.get("warnings", ())]
    return "\n".join(lines)


def _head(summary: Mapping[str, Any]) -> list[str]:
    """How many items were worked and answered, the rates with their denominator, and the errors by cause."""
    total, worked, answered = summary["items_total"], summary["items_worked"], summary["items_answered"]
    items = f"{worked} of {total} worked ({total - worked} not run)" if worked != total else f"{total}"
    lines = [
        f"Items: {items}, {answered} answered",
        f"Escalation rate: {summary['escalation_rate']:.1%} of {worked} worked   "
        f"accepted by a quality bar: {summary['success_rate']:.1%} of {worked} worked",
    ]
    errors: Mapping[str, int] = summary.get("errors") or {}
    if errors:
        lines.append(f"Errors: {sum(errors.values())} failed attempts: {cause_counts(errors)}")
    return lines


def _money(summary: Mapping[str, Any]) -> list[str]:
    """Total cost, then baseline and savings over the answered items only."""
    answered = summary["items_answered"]
    unanswered_cost = summary["total_cost"] - summary["answered_cost"]
    lines = [
        f"Total cost:            ${summary['total_cost']:.6f}"
        + (f" (${unanswered_cost:.6f} of it on items with no answer)" if unanswered_cost > 0 else ""),
        f"Premium-only baseline: ${summary['premium_baseline_cost']:.6f} (the {answered} answered items)",
    ]
    if not answered:
        return [*lines, "Savings:               n/a (no item was answered)"]
    return [
        *lines,
        f"Savings:               ${summary['cost_savings']:.6f} ({percent(summary['cost_savings_percent'])}) "
        f"on the {answered} answered items",
    ]
