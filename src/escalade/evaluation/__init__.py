"""Evaluation on recorded real outcomes: metrics, policies and the side-by-side harness."""

from escalade.evaluation.metrics import (
    CurvePoint,
    aiq,
    apgr,
    bootstrap_ci,
    cpt,
    nondecreasing_hull,
    savings_at_target,
)

__all__ = ["CurvePoint", "aiq", "apgr", "bootstrap_ci", "cpt", "nondecreasing_hull", "savings_at_target"]
