"""Scorers: the run-time consensus scorer, function scorers and combination with ``&``."""

from __future__ import annotations

import asyncio

import pytest

from escalade.providers import Completion
from escalade.quality import AnsweredAttempt, ConsensusScorer, FailureAnalysis, ScoringContext, as_scorer, score_now


def _ctx(
    text: str | None,
    model: str,
    history: list[tuple[str, str | None]],
    kind: str = "multiple-choice",
    confidence: float | None = None,
) -> ScoringContext:
    return ScoringContext(
        item_id="i",
        prompt="p",
        task_kind=kind,
        tier="cheap",
        attempt=1,
        completion=Completion(text=text, model=model, confidence=confidence),
        history=tuple(AnsweredAttempt(tier="cheap", model=m, text=t) for m, t in history),
    )


@pytest.mark.parametrize(
    ("text", "history", "expected"),
    [
        ("A", [], 50.0),  # lone well-formed answer: format only + majority 1/1
        ("A", [("m1", "A")], 100.0),  # corroborated by the only other model
        ("A", [("m1", "B")], 35.0),  # contradicted: 0.2 + 0.3 * 1/2
        ("A", [("m1", "A"), ("m2", "B")], pytest.approx(90.0)),  # 2 of 3 agree: 0.2 + 0.5 + 0.3 * 2/3
        ("I cannot answer", [("m1", "A")], 0.0),  # no readable answer
        ("A", [("m0", "A")], 50.0),  # same model again never corroborates itself
        ("A", [("m1", "no idea")], 50.0),  # unreadable earlier answers are not opinions
    ],
)
def test_consensus_scores(text: str, history: list[tuple[str, str | None]], expected: float) -> None:
    """Format, corroboration by other paid models, and majority combine as documented."""
    assert ConsensusScorer().score(_ctx(text, "m0", history)).cqs == expected


def test_consensus_on_code_uses_format_and_syntax_only() -> None:
    """Code answers cannot be compared as text: valid code scores on format, broken code is penalised."""
    scorer = ConsensusScorer()
    good = scorer.score(_ctx("```python\ndef f():\n    return 1\n```", "m0", [("m1", "x")], kind="code"))
    assert good.cqs == 100.0
    assert "corroboration" not in good.measured()
    broken = scorer.score(_ctx("```python\ndef f(:\n```", "m0", [], kind="code"))
    assert broken.syntax_errors
    assert broken.cqs == 0.0


def test_consensus_uses_self_reported_confidence() -> None:
    """A model's own confidence enters as llm_confidence."""
    analysis = ConsensusScorer().score(_ctx("A", "m0", [], confidence=0.0))
    assert analysis.llm_confidence == 0.0
    assert analysis.cqs < 50.0


def test_function_scorers_combine() -> None:
    """Plain functions are scorers; ``&`` merges their signals."""
    tests = as_scorer(lambda ctx: FailureAnalysis(test_pass_rate=1.0))
    cover = as_scorer(lambda ctx: FailureAnalysis(coverage=0.0))
    combined = tests & cover
    analysis = asyncio.run(score_now(combined, _ctx("A", "m0", [])))
    assert analysis.measured() == {"test_pass_rate": 1.0, "coverage": 0.0}
    with_consensus = asyncio.run(score_now(ConsensusScorer() & tests, _ctx("A", "m0", [])))
    assert set(with_consensus.measured()) == {"answer_format", "corroboration", "majority", "test_pass_rate"}
    assert as_scorer(combined) is combined


def test_async_scorers_combine_with_sync_ones() -> None:
    """A scorer that must run something may be async; combined with a sync one, both signals are merged."""

    async def ran_tests(ctx: ScoringContext) -> FailureAnalysis:
        await asyncio.sleep(0)
        return FailureAnalysis(test_pass_rate=0.5)

    combined = as_scorer(ran_tests) & (lambda ctx: FailureAnalysis(coverage=1.0))
    analysis = asyncio.run(score_now(combined, _ctx("A", "m0", [])))
    assert analysis.measured() == {"test_pass_rate": 0.5, "coverage": 1.0}
