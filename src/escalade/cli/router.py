"""``escalade router fit|show``: fit a learned router on recorded outcomes, save it, inspect it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from escalade import __version__
from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

if TYPE_CHECKING:
    from escalade.replay import Outcomes
    from escalade.routing.learned import RouterArtifact

__all__ = ["router_app"]

router_app = typer.Typer(help="Fit, save and inspect learned routers.", no_args_is_help=True)


def _summary(artifact: RouterArtifact, path: Path) -> dict[str, Any]:
    router = artifact.router
    premium_terms, cheap_terms = router.leaning_terms(10)
    return {
        "path": str(path),
        "cheap_model": router.cheap,
        "premium_model": router.premium,
        "cutoff": artifact.cutoff,
        "beta": router.beta,
        "terms": len(router.terms),
        "premium_cost_per_char": router.strong_cost.slope,
        "cheap_cost_per_char": router.weak_cost.slope,
        "terms_towards_premium": premium_terms,
        "terms_towards_cheap": cheap_terms,
        "metadata": dict(artifact.metadata),
    }


def _print(summary: dict[str, Any], json_out: bool, title: str) -> None:
    if json_out:
        print_json(json.dumps(summary))
        return
    table = Table("", "value", title=title)
    for key, value in summary.items():
        shown = ", ".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, dict) else value
        table.add_row(key, f"{shown:.6g}" if isinstance(shown, float) else str(shown))
    out_console().print(table)


def _training_rows(
    dataset_dir: Path | None, split: str | None, from_store: bool, db: str | None, workflow: str | None
) -> tuple[Outcomes, dict[str, Any]]:
    """Labelled rows from a dataset split or from the store's logged runs, with their provenance."""
    from escalade.evaluation import outcomes_from_logs
    from escalade.replay import Outcomes, load_dataset

    if (dataset_dir is None) == (not from_store):
        raise fail("give a DATASET_DIR or --from-store (one of them)")
    if dataset_dir is not None:
        dataset = load_dataset(dataset_dir)
        split = split or ("train" if "train" in dataset.splits else dataset.default_split())
        outcomes = Outcomes.from_rows(dataset, dataset.rows(split))
        return outcomes, {"dataset": dataset.name, "split": split, "rows": len(outcomes)}
    store = open_store(db)
    try:
        outcomes = outcomes_from_logs(store.logged_items(workflow=workflow))
    finally:
        store.close()
    return outcomes, {"store": "logged runs", "workflow": workflow, "rows": len(outcomes)}


@router_app.command("fit")
@handle_errors
def fit_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the router artifact (JSON).")],
    dataset_dir: Annotated[
        Path | None, typer.Argument(help="Folder of an escalade-benchmark/1 dataset (or use --from-store).")
    ] = None,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Learn from the runs logged in the store instead.")
    ] = False,
    db: DbOption = None,
    workflow: Annotated[str | None, typer.Option(help="With --from-store: only runs of this workflow.")] = None,
    split: Annotated[str | None, typer.Option(help="Split to fit on (default: train, or the only split).")] = None,
    cheap: Annotated[str | None, typer.Option(help="Cheap model (default: best within 15% of premium's cost).")] = None,
    strong_share: Annotated[float, typer.Option(help="Share of the fitted rows the cutoff sends to premium.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed for the classifiers and the choice of beta.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """Fit a prompt-only gain router (TF-IDF + logistic regression) and save it as a versioned artifact.

    From a dataset it learns which model is right; from logged runs, whether the first tier passed
    and whether the top tier passed where items reached it.
    """
    import numpy as np

    from escalade.evaluation import pick_cheap
    from escalade.routing.learned import GainRouter, RouterArtifact, save_router

    if not 0 <= strong_share <= 1:
        raise fail(f"--strong-share must be in [0, 1], got {strong_share}")
    outcomes, provenance = _training_rows(dataset_dir, split, from_store, db, workflow)
    if cheap is not None and cheap not in outcomes.models:
        raise fail(f"unknown model {cheap!r}; models: {', '.join(outcomes.models)}")
    cheap_model = cheap or (outcomes.models[0] if from_store else pick_cheap(outcomes))
    fitted = GainRouter.fit(outcomes, cheap=cheap_model, premium=outcomes.premium, partial=from_store, seed=seed)
    priorities = fitted.priority(list(outcomes.prompts))
    cutoff = float(np.quantile(priorities, 1 - strong_share)) if strong_share > 0 else float(priorities.max()) + 1
    metadata = {
        **provenance,
        "strong_share": strong_share,
        "seed": seed,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "escalade_version": __version__,
    }
    artifact = RouterArtifact(router=fitted.compile(), cutoff=cutoff, metadata=metadata)
    save_router(artifact, out)
    _print(_summary(artifact, out), json_out, f"router written to {out}")


@router_app.command("show")
@handle_errors
def show_command(
    path: Annotated[Path, typer.Argument(help="A router artifact written by `escalade router fit`.")],
    json_out: JsonOption = False,
) -> None:
    """Show a saved router: models, cutoff, cost lines, and the terms that lean towards each model."""
    from escalade.routing.learned import load_router

    _print(_summary(load_router(path), path), json_out, str(path))
