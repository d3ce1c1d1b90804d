"""The certified cascade policy: each point keeps its certified quality ratio; tiny data escalates everything."""

from __future__ import annotations

from pathlib import Path

from escalade.evaluation import CertifiedCascadePolicy, evaluate, fold_plan, pick_cheap
from escalade.replay import Outcomes, load_dataset
from tests.conftest import MakeDataset


def test_certified_points_keep_their_promise_on_gsm8k(shared_benchmarks: Path) -> None:
    """On GSM8K (cross-fitted), every certified ratio r gives quality of at least r x premium quality."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    outcomes = Outcomes.from_rows(ds, ds.rows("all"))
    policy = CertifiedCascadePolicy(fold_plan(outcomes, None), cheap=pick_cheap(outcomes), premium=outcomes.premium)
    report = evaluate([policy], outcomes, dataset="gsm8k", split="all")
    curve = report.policies[0].curve
    assert curve is not None
    assert [p.threshold for p in curve] == list(policy.thresholds)
    for point in curve:
        assert point.threshold is not None
        assert point.quality >= point.threshold * report.premium_quality
    assert curve[0].cost_ratio < curve[-1].cost_ratio  # a weaker promise is cheaper


def test_too_little_data_escalates_everything(make_dataset: MakeDataset) -> None:
    """With a handful of rows nothing certifies: every answered row goes to premium."""
    ds = load_dataset(make_dataset())
    outcomes = Outcomes.from_rows(ds, ds.rows("test"))
    policy = CertifiedCascadePolicy(fold_plan(outcomes, None, k=2), cheap="small-a", premium="big")
    finals = policy.decide(outcomes.view(), 0.9)
    assert set(finals) == {"big"}
