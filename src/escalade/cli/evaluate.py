"""``escalade eval``: policies side by side on recorded outcomes, with peer metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from escalade.cli.common import JsonOption, fail, handle_errors, out_console, print_json

if TYPE_CHECKING:
    from rich.progress import Progress

    from escalade.evaluation import EvalReport, Policy
    from escalade.replay import PremiumCost

__all__ = ["eval_command"]


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _premium_caption(report: EvalReport, premium: PremiumCost) -> str:
    """The title's premium figures, saying which rows the cost covers when some have no outcome."""
    caption = (
        f"premium {report.premium_model} quality {report.premium_quality:.3f}, cost ${report.premium_cost_usd:.4f}"
    )
    if not premium.missing:
        return caption
    none = (
        "1 row has none; `escalade run` counts it"
        if premium.missing == 1
        else f"{premium.missing} rows have none; `escalade run` counts them"
    )
    return (
        f"{caption} over the {premium.recorded} rows it has an outcome for "
        f"({none} at the mean, ${premium.filled_usd:.4f})"
    )


def _table(report: EvalReport, premium: PremiumCost) -> Table:
    table = Table(
        "policy",
        "kind",
        "quality",
        "cost $",
        "cost ratio",
        "premium calls",
        f"savings @{report.target_quality:.0%}",
        "AIQ",
        "APGR",
        "CPT50",
        "CPT80",
        title=f"{report.dataset} ({report.split}, {report.rows} rows); {_premium_caption(report, premium)}",
    )
    for p in report.policies:
        table.add_row(
            p.name,
            p.kind,
            _fmt(p.quality),
            _fmt(p.cost_usd, ".4f"),
            _fmt(p.cost_ratio),
            _fmt(p.strong_share, ".1%"),
            _fmt(p.savings_at_target, ".1%"),
            _fmt(p.aiq),
            _fmt(p.apgr),
            _fmt(p.cpt50, ".1%"),
            _fmt(p.cpt80, ".1%"),
        )
    return table


@handle_errors
def eval_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder of an escalade-benchmark/1 dataset.")],
    policy: Annotated[
        list[str] | None, typer.Option("--policy", help="Policy to run (repeatable; default: all).")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split to score on (default: test, or the only split).")] = None,
    target_quality: Annotated[float, typer.Option(help="Quality target as a share of premium quality.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed for random policies and bootstrap intervals.")] = 0,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG of the cost–quality curves here.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Evaluate policies side by side on recorded outcomes: quality, cost, AIQ, APGR, CPT, savings."""
    from escalade.cli.running import progress_bar
    from escalade.evaluation import evaluate, plot_report, select_policies
    from escalade.replay import Outcomes, load_dataset, premium_cost

    if not 0 < target_quality <= 1.5:
        raise fail(f"--target-quality must be in (0, 1.5], got {target_quality}")
    dataset = load_dataset(dataset_dir)
    split = split or dataset.default_split()
    outcomes = Outcomes.from_rows(dataset, dataset.rows(split))
    if len(outcomes) == 0:
        raise fail(f"split {split!r} of {dataset.name} has no rows")
    train = None
    if split != "train" and "train" in dataset.splits:
        train = Outcomes.from_rows(dataset, dataset.rows("train"))
    with progress_bar(json_out=json_out) as progress:
        report = evaluate(
            lambda: select_policies(outcomes, policy or [], train=train, seed=seed),  # fitted once found comparable
            outcomes,
            dataset=dataset.name,
            split=split,
            target=target_quality,
            seed=seed,
            on_point=_announcer(progress),
        )
    premium = premium_cost(dataset.rows(split), report.premium_model)
    if plot is not None:
        plot_report(report, plot)
    if json_out:
        filled = {"premium_rows_without_outcome": premium.missing, "premium_cost_usd_filled": premium.filled_usd}
        print_json(json.dumps(report.to_dict() | filled))
    else:
        out_console().print(_table(report, premium))
        if plot is not None:
            out_console().print(f"plot written to {plot}", markup=False)


def _announcer(progress: Progress) -> Callable[[Policy, int, int], None]:
    """The ``on_point`` of :func:`evaluate` that names the policy being worked on and counts the points done."""
    task = progress.add_task("policies", total=None)

    def starting(policy: Policy, done: int, points: int) -> None:
        progress.update(task, completed=done, total=points, description=f"policy {policy.name}", refresh=True)

    return starting
