"""The Composite Quality Score: the seed's formula, syntax penalty, only measured signals count."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalade.exceptions import ConfigError
from escalade.quality import FailureAnalysis

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(unit, unit, unit, unit, st.booleans())
def test_formula_with_all_four_signals(tp: float, cov: float, aq: float, conf: float, syntax: bool) -> None:
    """With the four seed signals the score is exactly the seed's weighted sum × penalty."""
    fa = FailureAnalysis(
        test_pass_rate=tp,
        coverage=cov,
        assertion_quality=aq,
        llm_confidence=conf,
        syntax_errors=("line 1: bad",) if syntax else (),
    )
    expected = (0.40 * tp + 0.25 * cov + 0.20 * aq + 0.15 * conf) * (0.5 if syntax else 1.0) * 100
    assert fa.cqs == pytest.approx(expected, abs=1e-5)
    assert 0.0 <= fa.cqs <= 100.0


def test_seed_example_values() -> None:
    """Hand-computed example: 0.40·0.8 + 0.25·0.6 + 0.20·0.5 + 0.15·0.9 = 0.705."""
    fa = FailureAnalysis(test_pass_rate=0.8, coverage=0.6, assertion_quality=0.5, llm_confidence=0.9)
    assert fa.cqs == pytest.approx(70.5)
    assert fa.calculate_quality_score() == fa.cqs


def test_unmeasured_declared_signals_count_as_zero() -> None:
    """As in the seed's formula, a declared signal that was not measured counts as 0."""
    assert FailureAnalysis(test_pass_rate=1.0).cqs == 40.0
    assert FailureAnalysis(test_pass_rate=1.0, coverage=1.0).cqs == 65.0
    assert FailureAnalysis().cqs == 0.0
    assert FailureAnalysis(weights={}).cqs == 0.0


def test_own_signal_set_replaces_the_seed_set() -> None:
    """A scorer that declares its own signals is scored on them alone."""
    fa = FailureAnalysis(signals={"agree": 1.0}, weights={"agree": 1.0, "fmt": 1.0})
    assert fa.cqs == 50.0
    assert set(fa.declared()) == {"agree", "fmt"}
    with pytest.raises(ConfigError, match="without a weight: test_pass_rate"):
        FailureAnalysis(test_pass_rate=1.0, weights={"agree": 1.0})


def test_custom_signals_need_weights_and_range() -> None:
    """Extra signals carry weights; out-of-range values and missing weights are errors."""
    fa = FailureAnalysis(signals={"agree": 1.0, "fmt": 0.0}, weights={"agree": 3.0, "fmt": 1.0})
    assert fa.cqs == 75.0
    with pytest.raises(ConfigError, match="without a weight: agree"):
        FailureAnalysis(signals={"agree": 1.0})
    with pytest.raises(ConfigError, match="coverage"):
        FailureAnalysis(coverage=1.5)
    with pytest.raises(ConfigError, match="finite number >= 0"):
        FailureAnalysis(signals={"x": 0.5}, weights={"x": -1.0})


def test_merge_prefers_later_measurements() -> None:
    """merge() keeps both analyses' signals; the later one wins where both measured."""
    merged = FailureAnalysis(test_pass_rate=0.2, notes=("a",)).merge(
        FailureAnalysis(test_pass_rate=0.9, coverage=0.5, syntax_errors=("e",), notes=("b",))
    )
    assert merged.test_pass_rate == 0.9
    assert merged.coverage == 0.5
    assert merged.syntax_errors == ("e",)
    assert merged.notes == ("a", "b")
    assert merged.to_dict()["signals"] == {"test_pass_rate": 0.9, "coverage": 0.5}
    assert merged.cqs == pytest.approx(0.5 * (0.40 * 0.9 + 0.25 * 0.5) * 100)
