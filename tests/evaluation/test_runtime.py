"""Run-time policies are fitted only on rows they do not decide, and pick their operating point there."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.cascade import WorkItem
from escalade.evaluation import _runtime, fit_runtime_policy, runtime_policy
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig
from escalade.replay import Outcomes, load_dataset
from escalade.routing.learned import CompiledVerifier, GainRouter


@pytest.fixture
def recorded_fits(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The prompts of every training set a verifier is fitted on."""
    seen: list[set[str]] = []
    original = _runtime.fit_verifier  # type: ignore[attr-defined]

    def spy(train: Outcomes, model: str, *, seed: int = 0) -> CompiledVerifier:
        seen.append(set(train.keys))
        return original(train, model, seed=seed)

    monkeypatch.setattr(_runtime, "fit_verifier", spy)
    return seen


def test_cross_fitting_never_fits_on_a_decided_row(shared_benchmarks: Path, recorded_fits: list[set[str]]) -> None:
    """Each row is decided by a fold whose every fit (inner folds too) excluded it."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    policy = fit_runtime_policy(ds, "all", cross_fit=3, limit=240)
    assert set(policy.start_tiers) == {r.key for r in ds.rows("all")[:240]}
    assert policy.provenance.folds == 3
    assert policy.provenance.source == "cross-fit"
    finals = [keys for keys in recorded_fits if len(keys) == 160]  # each fold's final fit: the other 2 folds
    assert len(finals) >= 1
    scorers = policy.scorer.scorers  # type: ignore[attr-defined]
    for keys in recorded_fits:
        assert len(keys) <= 160
    decided_by: dict[int, set[str]] = {}
    for key, scorer in scorers.items():
        decided_by.setdefault(id(scorer), set()).add(key)
    for rows in decided_by.values():  # the rows a fold decides are in none of that fold's fits
        assert any(not (rows & keys) for keys in recorded_fits)


def test_fit_on_another_split_reports_its_operating_point(shared_benchmarks: Path) -> None:
    """Fitted on train, the policy decides test rows, and its provenance says where it came from."""
    ds = load_dataset(shared_benchmarks / "routerbench-arc")
    policy = fit_runtime_policy(ds, "test", fit_on="train", target_quality=0.9, limit=50)
    line = policy.provenance.describe()
    assert "fitted on split 'train'" in line
    assert "never on the rows it decides" in line
    assert policy.provenance.fitted_quality_ratio is not None
    assert policy.provenance.fitted_quality_ratio >= 0.9
    assert set(policy.start_tiers.values()) <= {"cheap", "premium"}
    config = policy.config(EscalationConfig())
    assert config.tiers.names == ("cheap", "premium")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fit_on": "all"}, "rows being decided"),
        ({}, "exactly one of"),
        ({"fit_on": "train", "cross_fit": 3}, "exactly one of"),
        ({"fit_on": "nope"}, "no split 'nope'"),
        ({"cross_fit": 1}, "between 2"),
        ({"cross_fit": 3, "target_quality": 1.5}, "target_quality|\\(0, 1\\]"),
    ],
)
def test_bad_requests_are_clear_errors(shared_benchmarks: Path, kwargs: dict[str, object], message: str) -> None:
    """Fitting on the decided rows, or an impossible setting, is a ConfigError naming the problem."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    with pytest.raises(ConfigError, match=message):
        fit_runtime_policy(ds, "all", limit=30, **kwargs)  # type: ignore[arg-type]


def test_certified_threshold_is_marked(shared_benchmarks: Path) -> None:
    """With certify, the provenance says whether the verifier's threshold was certified, and at which delta."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    policy = fit_runtime_policy(ds, "all", cross_fit=2, certify=True, delta=0.1, limit=200)
    assert policy.provenance.certified is not None
    assert policy.provenance.delta == 0.1
    assert "certified at delta=0.1" in policy.provenance.describe()


def test_artifacts_make_a_policy(shared_benchmarks: Path) -> None:
    """A saved router routes each item's start tier at its cutoff."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    outcomes = Outcomes.from_rows(ds, ds.rows("all")[:200])
    router = GainRouter.fit(outcomes, cheap=outcomes.models[0], premium=outcomes.premium).compile()
    policy = runtime_policy(ds, "all", router=(router, -1e9, "r.json"))
    assert policy.start_tier(WorkItem(id="x", prompt="anything")) == "premium"
    assert "r.json" in policy.provenance.describe()
