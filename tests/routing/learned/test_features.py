"""Run-time answer features and per-row cost estimates."""

from __future__ import annotations

import numpy as np
import pytest

from escalade.routing.learned import ANSWER_FEATURES, CostModel, answer_features


def _named(values: list[float]) -> dict[str, float]:
    return dict(zip(ANSWER_FEATURES, values, strict=True))


@pytest.mark.parametrize("kind", ["multiple-choice", "math-word-problem", "code", "short-answer"])
def test_width_is_fixed_for_every_kind(kind: str) -> None:
    """Every task kind gives one value per named feature, even for a missing answer."""
    for text in ("some answer 12", None, ""):
        assert len(answer_features(text, kind, prompt="Q 12?", earlier=[])) == len(ANSWER_FEATURES)


def test_math_signals() -> None:
    """Wrong arithmetic, a non-integer or negative final number and a copied number are flagged."""
    wrong = _named(answer_features("3 + 4 = 8\n#### 8", "math-word-problem", prompt="3 and 4", earlier=[]))
    assert wrong["arithmetic_wrong"] == 1.0
    assert wrong["explicit_final"] == 1.0
    copied = _named(answer_features("The answer is 4", "math-word-problem", prompt="3 and 4", earlier=[]))
    assert copied["final_copied_from_prompt"] == 1.0
    assert copied["arithmetic_wrong"] == 0.0
    odd = _named(answer_features("so -2.5", "math-word-problem", prompt="q", earlier=[]))
    assert odd["final_not_integer"] == 1.0
    assert odd["final_negative"] == 1.0


def test_agreement_with_earlier_answers() -> None:
    """Agreement counts the earlier paid answers with the same final answer."""
    features = _named(answer_features("B", "multiple-choice", prompt="q", earlier=["B", "C", None]))
    assert features["agreeing"] == 1.0
    assert features["agreeing_share"] == pytest.approx(1 / 3)
    assert features["first_answer"] == 0.0
    first = _named(answer_features("B", "multiple-choice", prompt="q", earlier=[]))
    assert first["first_answer"] == 1.0


def test_code_syntax_error() -> None:
    """A fenced code answer that does not parse is flagged."""
    broken = _named(answer_features("```python\ndef f(:\n```", "code", prompt="q", earlier=[]))
    assert broken["syntax_error"] == 1.0


def test_cost_model_is_linear_in_prompt_length() -> None:
    """Costs growing with prompt length are fitted by a line; unknown costs are ignored."""
    prompts = ["a" * n for n in (10, 20, 30, 40)]
    model = CostModel.fit(prompts, np.array([1.0, 2.0, np.nan, 4.0]))
    assert model.predict(["a" * 50]) == pytest.approx([5.0])


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        (np.array([4.0, 3.0, 2.0, 1.0]), 2.5),  # longer is cheaper: fall back to the mean
        (np.array([np.nan, np.nan, 2.0, np.nan]), 2.0),  # one known cost
        (np.array([np.nan] * 4), 0.0),  # nothing known
    ],
)
def test_cost_model_fallbacks(costs: np.ndarray, expected: float) -> None:
    """Without a usable slope the estimate is the mean known cost."""
    model = CostModel.fit(["a" * n for n in (10, 20, 30, 40)], costs)
    assert model.predict(["a" * 25]) == pytest.approx([expected])
