"""``escalade eval``: policies side by side on recorded outcomes, with peer metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from escalade.cli.common import JsonOption, fail, handle_errors, out_console, print_json
from escalade.datasets import load_dataset
from escalade.evaluation.catalog import select_policies
from escalade.evaluation.harness import EvalReport, check_comparable, evaluate
from escalade.evaluation.outcomes import Outcomes
from escalade.evaluation.plot import plot_report

__all__ = ["eval_command"]


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _table(report: EvalReport) -> Table:
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
        title=f"{report.dataset} ({report.split}, {report.rows} rows); premium {report.premium_model}"
        f" quality {report.premium_quality:.3f}, cost ${report.premium_cost_usd:.4f}",
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
    if not 0 < target_quality <= 1.5:
        raise fail(f"--target-quality must be in (0, 1.5], got {target_quality}")
    dataset = load_dataset(dataset_dir)
    split = split or dataset.default_split()
    outcomes = Outcomes.from_rows(dataset, dataset.rows(split))
    if len(outcomes) == 0:
        raise fail(f"split {split!r} of {dataset.name} has no rows")
    check_comparable(outcomes, dataset=dataset.name, split=split)  # before fitting any policy on it
    train = None
    if split != "train" and "train" in dataset.splits:
        train = Outcomes.from_rows(dataset, dataset.rows("train"))
    policies = select_policies(outcomes, policy or [], train=train, seed=seed)
    report = evaluate(policies, outcomes, dataset=dataset.name, split=split, target=target_quality, seed=seed)
    if plot is not None:
        plot_report(report, plot)
    if json_out:
        print_json(json.dumps(report.to_dict()))
    else:
        out_console().print(_table(report))
        if plot is not None:
            out_console().print(f"plot written to {plot}", markup=False)
