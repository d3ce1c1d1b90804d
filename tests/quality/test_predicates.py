"""Escalation predicates and their combinators."""

from __future__ import annotations

from escalade.quality import (
    FailureAnalysis,
    PredicateContext,
    all_of,
    any_of,
    below_threshold,
    has_syntax_errors,
    signal_below,
)


def _ctx(threshold: float = 75.0, **signals: object) -> PredicateContext:
    """A context whose CQS is the pass rate alone (declared as the only seed signal besides coverage)."""
    analysis = FailureAnalysis(weights={"test_pass_rate": 1.0, "coverage": 0.0}, **signals)  # type: ignore[arg-type]
    return PredicateContext(tier="cheap", threshold=threshold, attempt=1, analysis=analysis)


def test_below_threshold() -> None:
    """Escalates with a reason under the bar, not at or above it."""
    assert below_threshold(_ctx(test_pass_rate=0.5)) == (True, "low CQS (50.0 < 75)")
    assert below_threshold(_ctx(test_pass_rate=0.75)) == (False, None)


def test_syntax_and_signal_predicates() -> None:
    """Syntax errors and a named signal below a floor escalate; unmeasured signals have no opinion."""
    assert has_syntax_errors(_ctx(syntax_errors=("l1: x",)))[0]
    assert not has_syntax_errors(_ctx())[0]
    low = signal_below("coverage", 0.8)
    assert low(_ctx(coverage=0.5)) == (True, "coverage 0.50 < 0.8")
    assert low(_ctx()) == (False, None)


def test_combinators() -> None:
    """any_of escalates on the first yes; all_of needs every yes and joins reasons."""
    ctx = _ctx(test_pass_rate=1.0, syntax_errors=("e",))
    assert any_of(below_threshold, has_syntax_errors)(ctx) == (True, "low CQS (50.0 < 75)")
    assert all_of(below_threshold, has_syntax_errors)(ctx) == (True, "low CQS (50.0 < 75); syntax errors: e")
    assert all_of(below_threshold, has_syntax_errors)(_ctx(syntax_errors=("e",), test_pass_rate=1.0, threshold=10)) == (
        False,
        None,
    )
