"""``escalade calibrate``: a threshold for a learned router or cascade, certified where asked, then checked."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from escalade.cli.common import JsonOption, handle_errors, out_console, print_json

__all__ = ["calibrate_command"]


class Kind(StrEnum):
    """What is calibrated."""

    CASCADE = "cascade"
    ROUTER = "router"


@handle_errors
def calibrate_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder of an escalade-benchmark/1 dataset.")],
    kind: Annotated[Kind, typer.Option("--kind", help="Cascade verifier (reads the cheap answer) or pre-router.")] = (
        Kind.CASCADE
    ),
    quality: Annotated[
        float | None, typer.Option(help="Certify quality >= this ratio of premium quality (e.g. 0.95).")
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="Certify error among accepted cheap answers <= alpha.")] = None,
    strong_share: Annotated[
        float | None, typer.Option(help="Send this share of rows to premium (RouteLLM-style, no guarantee).")
    ] = None,
    delta: Annotated[float, typer.Option(help="The guarantee holds with probability >= 1 - delta.")] = 0.1,
    calibration_share: Annotated[float, typer.Option(help="Share of held-out rows used to calibrate.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed for the row splits and the router.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """Calibrate the threshold of a learned router or cascade on recorded outcomes, then check it on held-out rows."""
    from escalade.evaluation import CalibrationTarget, calibrate_rows, prepare_rows, split_rows
    from escalade.replay import load_dataset

    if quality is None and alpha is None and strong_share is None:
        quality = 0.95
    target = CalibrationTarget(quality=quality, alpha=alpha, strong_share=strong_share, delta=delta)
    dataset = load_dataset(dataset_dir)
    rows = prepare_rows(dataset, cascade=kind is Kind.CASCADE, seed=seed)
    calibration, check = split_rows(rows, calibration_share=calibration_share, seed=seed)
    outcome = calibrate_rows(calibration, check, target)
    data = {
        "dataset": dataset.name,
        "kind": kind.value,
        "cheap_model": rows.cheap,
        "premium_model": rows.premium,
        "fit_rows": rows.fit_rows,
        "dropped_rows": rows.dropped_rows,
        **outcome.to_dict(),
    }
    if json_out:
        print_json(json.dumps(data))
        return
    table = Table("", "value", title=f"{dataset.name}: {kind.value} {rows.cheap} → {rows.premium}")
    for key, value in data.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    out_console().print(table)
