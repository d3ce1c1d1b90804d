"""The learned-policy options of ``escalade run`` and ``escalade ask``, and the policy they ask for.

A policy comes from saved artifacts (``--router``, ``--verifier``) or is fitted on rows the command
does not decide (``--fit-on SPLIT``, ``--cross-fit K``), at ``--target-quality`` of premium's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from escalade.cli.common import fail

if TYPE_CHECKING:
    from escalade.evaluation import RuntimePolicy
    from escalade.replay import BenchmarkDataset

__all__ = [
    "CertifyOption",
    "CrossFitOption",
    "DeltaOption",
    "FitOnOption",
    "PolicyOptions",
    "RouterOption",
    "TargetQualityOption",
    "VerifierOption",
    "learned_policy",
]

RouterOption = Annotated[
    Path | None,
    typer.Option("--router", help="Route each item's start tier with a saved escalade-router/1 artifact."),
]
VerifierOption = Annotated[
    Path | None,
    typer.Option("--verifier", help="Judge the cheap answer with a saved escalade-verifier/1 artifact."),
]
FitOnOption = Annotated[
    str | None,
    typer.Option(
        "--fit-on",
        help="Fit the router and verifier on this split (never the one decided) and pick the policy there.",
    ),
]
CrossFitOption = Annotated[
    int | None,
    typer.Option(
        "--cross-fit",
        help="Fit with K-fold cross-fitting over the decided split: each row decided by policies fitted without it.",
    ),
]
TargetQualityOption = Annotated[
    float,
    typer.Option(
        "--target-quality",
        help="With --fit-on/--cross-fit: the cheapest operating point whose out-of-fold quality on the fitting "
        "rows is at least this share of the premium model's.",
    ),
]
CertifyOption = Annotated[
    bool,
    typer.Option("--certify", help="Certify the verifier's threshold on the fitting rows (Clopper-Pearson)."),
]
DeltaOption = Annotated[float, typer.Option("--delta", help="With --certify: the certificate's failure level.")]


@dataclass(frozen=True, kw_only=True)
class PolicyOptions:
    """The learned-policy flags of ``escalade run`` and ``escalade ask --replay``."""

    router: Path | None = None
    verifier: Path | None = None
    fit_on: str | None = None
    cross_fit: int | None = None
    target_quality: float = 0.95
    certify: bool = False
    delta: float = 0.05

    @property
    def wanted(self) -> bool:
        return any(x is not None for x in (self.router, self.verifier, self.fit_on, self.cross_fit)) or self.certify


def learned_policy(dataset: BenchmarkDataset, split: str, options: PolicyOptions, limit: int | None) -> RuntimePolicy:
    """The run-time policy the flags ask for: read from artifacts, or fitted on rows the run does not decide."""
    from escalade.evaluation import fit_runtime_policy, runtime_policy

    files = options.router is not None or options.verifier is not None
    fits = options.fit_on is not None or options.cross_fit is not None
    if files and fits:
        raise fail("give --router/--verifier files or --fit-on/--cross-fit, not both")
    if options.fit_on is not None and options.cross_fit is not None:
        raise fail("give --fit-on SPLIT or --cross-fit K, not both")
    if options.fit_on == split:
        raise fail(
            f"--fit-on {split} would fit the policy on the rows it decides (--split {split}); "
            "fit on another split, or use --cross-fit K"
        )
    if not files and not fits:
        raise fail("--target-quality/--certify need a policy to fit: add --fit-on SPLIT or --cross-fit K")
    if fits:
        return fit_runtime_policy(
            dataset,
            split,
            fit_on=options.fit_on,
            cross_fit=options.cross_fit,
            target_quality=options.target_quality,
            certify=options.certify,
            delta=options.delta,
            limit=limit,
        )
    from escalade.routing.learned import load_router, load_verifier

    router = load_router(options.router) if options.router is not None else None
    verifier = load_verifier(options.verifier) if options.verifier is not None else None
    return runtime_policy(
        dataset,
        split,
        router=(router.router, router.cutoff, str(options.router)) if router is not None else None,
        verifier=(verifier.verifier, verifier.threshold, str(options.verifier)) if verifier is not None else None,
    )
