"""The evaluation harness: no peeking, paying for what is read, determinism, baseline policies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from escalade.evaluation import (
    CascadePolicy,
    OraclePolicy,
    Policy,
    RandomMixPolicy,
    SingleModelPolicy,
    evaluate,
    sweep_of,
)
from escalade.exceptions import DatasetError
from escalade.replay import Outcomes, RuntimeView, load_dataset
from tests.conftest import TINY_MODELS, MakeDataset, row


@pytest.fixture
def outcomes(make_dataset: MakeDataset) -> Outcomes:
    ds = load_dataset(make_dataset())
    return Outcomes.from_rows(ds, ds.rows("test"))


def test_view_has_no_grades(outcomes: Outcomes) -> None:
    """A run-time view carries prompts, prices and a ledger, and no attribute holding grades or rows."""
    view = outcomes.view()
    assert not hasattr(view, "__dict__")  # slots only: nothing can be attached or reached
    assert set(RuntimeView.__slots__) == {"_costs", "_ledger", "_responses", "models", "prices", "prompts", "task_kind"}
    for name in RuntimeView.__slots__:
        value = getattr(view, name)
        assert value is not outcomes.scores
        assert not isinstance(value, Outcomes)
        if isinstance(value, np.ndarray):
            assert not np.array_equal(value, outcomes.scores, equal_nan=True)


def test_reading_an_answer_charges_for_it(outcomes: Outcomes) -> None:
    """pay() is the only way to an answer; it is recorded once per answer; a gap is free and None."""
    view = outcomes.view()
    paid = view.pay(1, "mid")
    assert paid is not None
    assert (paid.text, paid.cost_usd) == ("B", 0.01)
    view.pay(1, "mid")
    assert view.spent()[1] == pytest.approx(0.01)
    assert view.pay(3, "small-b") is None  # q4 has no outcome for small-b
    assert view.spent()[3] == 0.0
    assert view.paid_models(1) == ["mid"]


class _Cheater:
    """A policy that claims the premium answer without paying for it."""

    name = "cheater"
    kind = "router"
    thresholds: Sequence[float] = ()

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        return ["big"] * len(view)


def test_unpaid_answers_are_rejected(outcomes: Outcomes) -> None:
    """Using an answer that was not paid for is an error, so cost can never be understated."""
    with pytest.raises(ValueError, match="used big's answer on row 0 without paying for it"):
        evaluate([_Cheater()], outcomes, dataset="tiny", split="test")


def test_baselines_and_oracle(outcomes: Outcomes) -> None:
    """Single models, the random mix, the oracle and the cascade on the tiny dataset, hand-checked."""
    policies: list[Policy] = [
        SingleModelPolicy("small-a"),
        SingleModelPolicy("big"),
        OraclePolicy(outcomes),
        CascadePolicy(),
    ]
    report = evaluate(policies, outcomes, dataset="tiny", split="test")
    by = {p.name: p for p in report.policies}
    assert report.premium_model == "big"
    assert report.premium_quality == 1.0
    assert report.premium_cost_usd == pytest.approx(0.4)
    assert by["small-a"].quality == pytest.approx(0.5)  # right on q1 and q4
    assert by["small-a"].cost_ratio == pytest.approx(0.004 / 0.4)
    assert by["big"].savings_at_target == pytest.approx(0.0)
    # oracle: q1 small-a, q2 small-b, q3 big, q4 small-a
    assert by["oracle"].quality == 1.0
    assert by["oracle"].cost_usd == pytest.approx(0.001 + 0.002 + 0.1 + 0.001)
    assert by["oracle"].kind == "oracle"
    assert by["oracle"].strong_share == pytest.approx(0.25)  # only q3 called big
    assert by["big"].strong_share == 1.0
    # cascade: same paths as the replay run in the CLI test
    assert by["cascade-consensus"].cost_usd == pytest.approx(0.003 + 0.013 + 0.113 + 0.011)
    assert by["cascade-consensus"].quality == 1.0


def test_missing_outcomes_are_not_wrong(outcomes: Outcomes) -> None:
    """A model without an outcome leaves the row unanswered (coverage), not graded wrong."""
    report = evaluate([SingleModelPolicy("small-b")], outcomes, dataset="tiny", split="test")
    policy = report.policies[0]
    assert policy.coverage == 0.75
    assert policy.quality == pytest.approx(2 / 3)  # right on q1, q2; wrong on q3


def test_same_seed_same_numbers(outcomes: Outcomes) -> None:
    """Evaluation is deterministic under a seed, and the seed changes the random mix."""
    first = evaluate([RandomMixPolicy("small-a", "big", seed=3)], outcomes, dataset="t", split="s", seed=3)
    again = evaluate([RandomMixPolicy("small-a", "big", seed=3)], outcomes, dataset="t", split="s", seed=3)
    assert first.to_dict() == again.to_dict()
    curve = first.policies[0].curve
    assert curve is not None
    assert len(curve) == 11
    assert curve[0].strong_share == 0.0
    assert curve[-1].strong_share == 1.0


def test_report_json_shape(outcomes: Outcomes) -> None:
    """The JSON report has the fields the CLI promises."""
    data = evaluate(
        [SingleModelPolicy("big"), RandomMixPolicy("small-a", "big")], outcomes, dataset="t", split="s"
    ).to_dict()
    for key in (
        "dataset",
        "rows",
        "premium_model",
        "premium_quality",
        "premium_cost_usd",
        "target_quality",
        "policies",
    ):
        assert key in data
    policy = data["policies"][1]
    for key in (
        "name",
        "kind",
        "quality",
        "cost_usd",
        "cost_ratio",
        "strong_share",
        "savings_at_target",
        "aiq",
        "apgr",
        "cpt50",
        "cpt80",
        "curve",
    ):
        assert key in policy
    assert policy["curve"][0] == [pytest.approx(0.004 / 0.4), pytest.approx(0.5)]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({}, "the premium model 'big' has no recorded outcome on any row"),
        ({"small-a": (1.0, 0.01, "A")}, "the premium model 'big' has no recorded outcome on any row"),
        ({"small-a": (1.0, 0.0, "A"), "big": (1.0, 0.0, "A")}, "records no cost on any row"),
    ],
)
def test_premium_model_without_outcomes_or_cost(
    make_dataset: MakeDataset, answers: dict[str, tuple[float, float, str | None]], message: str
) -> None:
    """No premium outcome, or a premium that cost nothing, is a DatasetError: there is nothing to compare with."""
    models = {m: TINY_MODELS[m] for m in ("small-a", "big")}
    ds = load_dataset(make_dataset([row(f"q{i}", "p", answers) for i in range(3)], models=models))
    outcomes = Outcomes.from_rows(ds, ds.rows("test"))
    built: list[str] = []

    def policies() -> list[Policy]:
        built.append("fitted")
        return [SingleModelPolicy("big")]

    with pytest.raises(DatasetError, match=message) as info:
        evaluate(policies, outcomes, dataset="tiny", split="test")
    assert str(info.value).startswith("split 'test' of tiny: the premium model 'big' ")
    assert built == []  # refused before any policy was built (learned ones are fitted on the outcomes)


def test_policies_built_once_checked_and_every_point_announced(outcomes: Outcomes) -> None:
    """A function of policies is called once the outcomes are found comparable; each point is announced in order."""
    policies: list[Policy] = [SingleModelPolicy("big"), RandomMixPolicy("small-a", "big")]
    seen: list[tuple[str, int, int]] = []
    report = evaluate(
        lambda: policies,
        outcomes,
        dataset="tiny",
        split="test",
        on_point=lambda p, done, n: seen.append((p.name, done, n)),
    )
    sweep = [p.name for p in policies for _ in sweep_of(p)]  # one point per threshold
    assert len(sweep) > len(policies)
    assert [p.name for p in report.policies] == [p.name for p in policies]
    assert seen == [(name, done, len(sweep)) for done, name in enumerate(sweep)]
