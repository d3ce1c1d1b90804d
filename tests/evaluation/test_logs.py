"""Routers learned from logged runs: prompts are stored, outcomes per tier are read back and fitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.cli import app
from escalade.evaluation import outcomes_from_logs
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import CompletionRequest, CostEstimate, FunctionProvider
from escalade.quality import FailureAnalysis, ScoringContext
from escalade.routing.learned import GainRouter
from escalade.store import SqlStore

COSTS = {"small": 0.001, "large": 0.03}
TOPICS = ["tax", "loan", "lease", "merger", "audit", "patent", "visa", "pension", "tariff", "bond"]


class _Estimator:
    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=COSTS[request.model], max_usd=COSTS[request.model])


def _answer(request: CompletionRequest) -> str:
    hard = "proof" in request.prompt
    return "bad" if request.model == "small" and hard else "good"


def _passed(ctx: ScoringContext) -> FailureAnalysis:
    return FailureAnalysis(test_pass_rate=1.0 if ctx.completion.text == "good" else 0.0, weights={"test_pass_rate": 1})


def _log_runs(db_url: str) -> None:
    """60 items: those asking for a proof fail on the small model and climb; the rest stay cheap."""
    ladder = Ladder([Tier(name="cheap", rank=0, models=("small",)), Tier(name="premium", rank=1, models=("large",))])
    config = EscalationConfig(tiers=ladder, max_cost=None, auto_approve_under=None)
    store = SqlStore(db_url)
    provider = FunctionProvider(_answer, cost_per_call=0.0)
    executor = ProgressiveExecutor(config, provider, scorer=_passed, estimator=_Estimator(), listeners=[store])
    items = [
        WorkItem(id=f"i{n}", prompt=f"{'Give a proof about' if n % 3 == 0 else 'Summarise a note on'} {TOPICS[n % 10]}")
        for n in range(60)
    ]
    executor.run_sync(items)
    store.close()


def test_logged_items_and_fitted_router(db_url: str) -> None:
    """Stored prompts and tier outcomes come back; a router fitted on them ranks proof requests for premium."""
    _log_runs(db_url)
    store = SqlStore(db_url)
    logged = store.logged_items()
    store.close()
    assert len(logged) == 60
    hard = next(i for i in logged if "proof" in i.prompt)
    assert hard.tiers["cheap"].passed is False
    assert hard.tiers["premium"].passed is True
    outcomes = outcomes_from_logs(logged)
    assert outcomes.models == ("cheap", "premium")
    router = GainRouter.fit(outcomes, cheap="cheap", premium="premium", partial=True)
    proof, summary = router.priority(["Give a proof about tax", "Summarise a note on tax"])
    assert proof > summary


def test_router_fit_from_store_cli(db_url: str, tmp_path: Path) -> None:
    """`escalade router fit --from-store` learns from the logged runs and records where it came from."""
    _log_runs(db_url)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["router", "fit", "--from-store", "--db", db_url, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["metadata"]["store"] == "logged runs"
    assert summary["metadata"]["rows"] == 60
    assert summary["cheap_model"] == "cheap"
    assert "proof" in " ".join(summary["terms_towards_premium"])


@pytest.mark.parametrize("args", [[], ["DATASET", "--from-store"]])
def test_router_fit_needs_one_source(tmp_path: Path, args: list[str]) -> None:
    """Neither or both of a dataset and --from-store is an error."""
    result = CliRunner().invoke(app, ["router", "fit", *args, "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 2
    assert "give a DATASET_DIR or --from-store" in result.stderr


def test_empty_store_is_an_error(db_url: str) -> None:
    """A store with no logged items cannot train a router, and says so."""
    store = SqlStore(db_url)
    with pytest.raises(ConfigError, match="no logged items"):
        outcomes_from_logs(store.logged_items())
    store.close()
