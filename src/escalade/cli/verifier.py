"""``escalade verifier fit|show``: fit a learned verifier of the cheap model's answers, save it, inspect it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from escalade import __version__
from escalade.cli.common import JsonOption, fail, handle_errors, out_console, print_json

if TYPE_CHECKING:
    from escalade.routing.learned import VerifierArtifact

__all__ = ["verifier_app"]

verifier_app = typer.Typer(help="Fit, save and inspect learned answer verifiers.", no_args_is_help=True)


def _summary(artifact: VerifierArtifact, path: Path) -> dict[str, Any]:
    verifier = artifact.verifier
    return {
        "path": str(path),
        "model": verifier.model,
        "task_kind": verifier.task_kind,
        "threshold": artifact.threshold,
        "prompt_terms": len(verifier.prompt_terms.terms),
        "answer_terms": len(verifier.answer_terms.terms) if verifier.answer_terms is not None else 0,
        "metadata": dict(artifact.metadata),
    }


def _print(summary: dict[str, Any], json_out: bool, title: str) -> None:
    if json_out:
        print_json(json.dumps(summary))
        return
    table = Table("", "value", title=title)
    for key, value in summary.items():
        shown = json.dumps(value) if isinstance(value, dict) else value
        table.add_row(key, f"{shown:.6g}" if isinstance(shown, float) else str(shown))
    out_console().print(table)


@verifier_app.command("fit")
@handle_errors
def fit_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder of an escalade-benchmark/1 dataset.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the verifier artifact (JSON).")],
    split: Annotated[str | None, typer.Option(help="Split to fit on (default: train, or the only split).")] = None,
    cheap: Annotated[
        str | None, typer.Option(help="Model to verify (default: best within 15% of premium's cost).")
    ] = None,
    target_quality: Annotated[
        float,
        typer.Option(
            "--target-quality", help="Threshold: the lowest whose out-of-fold quality is this share of premium's."
        ),
    ] = 0.95,
    certify: Annotated[bool, typer.Option("--certify", help="Certify the threshold (Clopper-Pearson).")] = False,
    delta: Annotated[float, typer.Option("--delta", help="With --certify: the certificate's failure level.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed for the classifier and the folds.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """Fit a verifier (prompt, answer and answer checks → P(right)) and save it with its operating point.

    Use it with `escalade run --verifier FILE` or `--scorer verifier --scorer-option artifact=FILE`.
    The threshold is chosen on out-of-fold predictions over the fitted rows, never in-sample.
    """
    from escalade.evaluation import fit_operating_verifier
    from escalade.replay import Outcomes, load_dataset
    from escalade.routing.learned import VerifierArtifact, save_verifier

    if not 0 < target_quality <= 1:
        raise fail(f"--target-quality must be in (0, 1], got {target_quality}")
    dataset = load_dataset(dataset_dir)
    split = split or ("train" if "train" in dataset.splits else dataset.default_split())
    outcomes = Outcomes.from_rows(dataset, dataset.rows(split))
    if cheap is not None and cheap not in outcomes.models:
        raise fail(f"unknown model {cheap!r}; models: {', '.join(outcomes.models)}")
    verifier, threshold, facts = fit_operating_verifier(
        outcomes, cheap=cheap, target_quality=target_quality, certify=certify, delta=delta, seed=seed
    )
    metadata = {
        "dataset": dataset.name,
        "split": split,
        "rows": len(outcomes),
        "premium": outcomes.premium,
        **facts,
        "seed": seed,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "escalade_version": __version__,
    }
    artifact = VerifierArtifact(verifier=verifier, threshold=threshold, metadata=metadata)
    save_verifier(artifact, out)
    _print(_summary(artifact, out), json_out, f"verifier written to {out}")


@verifier_app.command("show")
@handle_errors
def show_command(
    path: Annotated[Path, typer.Argument(help="A verifier artifact written by `escalade verifier fit`.")],
    json_out: JsonOption = False,
) -> None:
    """Show a saved verifier: its model, threshold, vocabularies and where it was fitted."""
    from escalade.routing.learned import load_verifier

    _print(_summary(load_verifier(path), path), json_out, str(path))
