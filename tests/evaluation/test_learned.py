"""Learned policies: never fitted on the rows they decide, chains and cheap models picked on training rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from escalade.evaluation import (
    ChainCascadePolicy,
    Policy,
    PreRouterPolicy,
    VerifierCascadePolicy,
    efficient_chain,
    evaluate,
    fold_plan,
    pick_cheap,
)
from escalade.replay import Outcomes, load_dataset
from tests.conftest import MakeDataset


@pytest.fixture
def outcomes(make_dataset: MakeDataset) -> Outcomes:
    ds = load_dataset(make_dataset())
    return Outcomes.from_rows(ds, ds.rows("test"))


def test_cross_fitting_never_trains_on_decided_rows(shared_benchmarks: Path) -> None:
    """Each fold decides rows that its training rows do not contain; together the folds cover every row once."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    evaluated = Outcomes.from_rows(ds, ds.rows("all"))
    folds = fold_plan(evaluated, None, k=5, seed=0)
    decided = np.concatenate([f.rows for f in folds])
    assert sorted(decided.tolist()) == list(range(len(evaluated)))
    for fold in folds:
        decided_keys = {evaluated.keys[r] for r in fold.rows}
        assert decided_keys.isdisjoint(fold.train.keys)
        assert len(fold.train) + len(fold.rows) == len(evaluated)


def test_train_split_is_one_fold(outcomes: Outcomes) -> None:
    """With a train split, one fold trained on it decides every evaluated row."""
    folds = fold_plan(outcomes, outcomes.subset([0, 1]))
    assert len(folds) == 1
    assert folds[0].rows.tolist() == [0, 1, 2, 3]


def test_pick_cheap_and_chain(outcomes: Outcomes) -> None:
    """The cheap model is the most accurate within budget; the chain is the cost-accuracy frontier."""
    # accuracies: small-a 0.5, small-b 2/3, mid 0.75, big 1.0; mean costs 0.001, 0.002, 0.01, 0.1
    assert pick_cheap(outcomes, budget=0.15) == "mid"
    assert pick_cheap(outcomes, budget=0.015) == "small-a"
    assert efficient_chain(outcomes) == ["small-a", "small-b", "mid", "big"]
    assert efficient_chain(outcomes, longest=3) == ["small-a", "mid", "big"]


@pytest.mark.parametrize("kind", ["prerouter", "verifier", "chain"])
def test_learned_policies_run_and_are_deterministic(outcomes: Outcomes, kind: str) -> None:
    """Each learned policy produces a full curve on tiny data and the same numbers twice."""

    def build() -> Policy:
        folds = fold_plan(outcomes, None, k=2, seed=1)
        if kind == "prerouter":
            return PreRouterPolicy(folds, cheap="small-a", premium="big")
        if kind == "verifier":
            return VerifierCascadePolicy(folds, cheap="small-a", premium="big")
        return ChainCascadePolicy(folds, chain=["small-a", "mid", "big"])

    first = evaluate([build()], outcomes, dataset="t", split="s")
    again = evaluate([build()], outcomes, dataset="t", split="s")
    assert first.to_dict() == again.to_dict()
    curve = first.policies[0].curve
    assert curve is not None
    assert len(curve) == 41


def test_prerouter_extremes(outcomes: Outcomes) -> None:
    """Premium share 0 sends every row to the cheap model, share 1 every row to premium."""
    policy = PreRouterPolicy(fold_plan(outcomes, None, k=2), cheap="small-a", premium="big")
    report = evaluate([policy], outcomes, dataset="t", split="s")
    curve = report.policies[0].curve
    assert curve is not None
    assert curve[0].strong_share == 0.0
    assert curve[0].quality == pytest.approx(0.5)
    assert curve[-1].strong_share == 1.0
    assert curve[-1].quality == 1.0
