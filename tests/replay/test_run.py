"""Replay plans: the premium model's recorded cost, measured once per plan, behind the note and the baseline."""

from __future__ import annotations

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig
from escalade.replay import PremiumCost, load_dataset, plan_live, plan_replay, premium_baseline
from escalade.replay import _run as replay
from tests.conftest import TINY_MODELS, MakeDataset, row

MODELS = {m: TINY_MODELS[m] for m in ("small-a", "small-b", "big")}
ROWS = [
    row("q1", "Q1?", {"small-a": (1, 0.001, "A"), "small-b": (1, 0.002, "A"), "big": (1, 0.1, "A")}),
    row("q2", "Q2?", {"small-a": (1, 0.001, "B"), "small-b": (1, 0.002, "B"), "big": (1, 0.3, "B")}),
    row("q3", "Q3?", {"small-a": (1, 0.001, "C"), "small-b": (1, 0.002, "C")}),  # no outcome of big
]


def test_plan_keeps_the_premium_cost_it_was_built_from(
    make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan measures the premium cost once; its note and the per-row baseline both read that one figure."""
    dataset = load_dataset(make_dataset(ROWS, models=MODELS))
    measured: list[str] = []
    original = replay.premium_cost

    def counting(rows: object, model: str) -> PremiumCost:
        measured.append(model)
        return original(rows, model)  # type: ignore[arg-type]

    monkeypatch.setattr(replay, "premium_cost", counting)
    plan = plan_replay(dataset, "test", EscalationConfig())
    baseline = premium_baseline(plan)
    assert measured == ["big"]
    assert plan.premium is not None
    assert (plan.premium.model, plan.premium.rows, plan.premium.recorded) == ("big", 3, 2)
    assert plan.premium.recorded_usd == pytest.approx(0.4)
    assert baseline == {"q1": pytest.approx(0.1), "q2": pytest.approx(0.3), "q3": pytest.approx(0.2)}
    assert any("1 of 3 rows have no recorded outcome of big" in note for note in plan.notes)


def test_a_live_plan_has_no_recorded_baseline(make_dataset: MakeDataset) -> None:
    """Live calls have no recorded premium cost: asking a live plan for one is a clear error."""
    plan = plan_live(load_dataset(make_dataset(ROWS, models=MODELS)), "test", EscalationConfig(), "openai")
    assert plan.premium is None
    with pytest.raises(ConfigError, match="a plan of live calls has no recorded premium cost"):
        premium_baseline(plan)
