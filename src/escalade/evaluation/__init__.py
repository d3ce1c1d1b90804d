"""Evaluation on recorded real outcomes: metrics, policies and the side-by-side harness."""

from typing import TYPE_CHECKING, Any

from escalade.evaluation._calibrate import (
    CalibrationCheck,
    CalibrationTarget,
    ScoredRows,
    calibrate_rows,
    prepare_rows,
    score_rows,
    score_with,
    split_rows,
)
from escalade.evaluation._catalog import builtin_policies, select_policies
from escalade.evaluation._certified import CertifiedCascadePolicy
from escalade.evaluation._decision_stream import SyntheticDecision, decision_stream, templates
from escalade.evaluation._harness import EvalReport, PolicyReport, check_comparable, evaluate, sweep_of
from escalade.evaluation._learned import (
    ChainCascadePolicy,
    Fold,
    PreRouterPolicy,
    VerifierCascadePolicy,
    efficient_chain,
    fold_plan,
    pay_all,
    pick_cheap,
)
from escalade.evaluation._logs import outcomes_from_logs
from escalade.evaluation._metrics import CurvePoint, aiq, apgr, bootstrap_ci, cpt, nondecreasing_hull, savings_at_target
from escalade.evaluation._policies import (
    CascadePolicy,
    OraclePolicy,
    Policy,
    RandomMixPolicy,
    SingleModelPolicy,
    ViewProvider,
)
from escalade.evaluation._runtime import (
    PolicyProvenance,
    RuntimePolicy,
    fit_operating_verifier,
    fit_runtime_policy,
    runtime_policy,
)

if TYPE_CHECKING:
    from escalade.evaluation._plot import plot_report, series_styles

#: Names whose module imports a heavy optional dependency, loaded on first use.
_LAZY = {
    "plot_report": "escalade.evaluation._plot",
    "series_styles": "escalade.evaluation._plot",
}


__all__ = [
    "CalibrationCheck",
    "CalibrationTarget",
    "CascadePolicy",
    "CertifiedCascadePolicy",
    "ChainCascadePolicy",
    "CurvePoint",
    "EvalReport",
    "Fold",
    "OraclePolicy",
    "Policy",
    "PolicyProvenance",
    "PolicyReport",
    "PreRouterPolicy",
    "RandomMixPolicy",
    "RuntimePolicy",
    "ScoredRows",
    "SingleModelPolicy",
    "SyntheticDecision",
    "VerifierCascadePolicy",
    "ViewProvider",
    "aiq",
    "apgr",
    "bootstrap_ci",
    "builtin_policies",
    "calibrate_rows",
    "check_comparable",
    "cpt",
    "decision_stream",
    "efficient_chain",
    "evaluate",
    "fit_operating_verifier",
    "fit_runtime_policy",
    "fold_plan",
    "nondecreasing_hull",
    "outcomes_from_logs",
    "pay_all",
    "pick_cheap",
    "plot_report",
    "prepare_rows",
    "runtime_policy",
    "savings_at_target",
    "score_rows",
    "score_with",
    "select_policies",
    "series_styles",
    "split_rows",
    "sweep_of",
    "templates",
]


def __getattr__(name: str) -> Any:
    """Import a heavy name (an SDK adapter, the plot) only when it is used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415  (lazy by design)

    return getattr(importlib.import_module(module), name)
