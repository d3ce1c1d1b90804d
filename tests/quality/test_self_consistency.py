"""Self-consistency: agreement of k samples of one model, each sample billed by the cascade."""

from __future__ import annotations

import pytest

from escalade.cascade import ProgressiveExecutor, SampledAgent, WorkItem, default_team
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import Completion
from escalade.providers._fake import ScriptedProvider
from escalade.quality import ScoringContext, SelfConsistencyScorer


def _context(text: str, samples: list[str], model: str = "m", kind: str = "math-word-problem") -> ScoringContext:
    return ScoringContext(
        item_id="q",
        prompt="2 + 2?",
        task_kind=kind,
        tier="cheap",
        attempt=1,
        completion=Completion(text=text, model=model),
        samples=tuple(Completion(text=s, model=model) for s in samples),
    )


@pytest.mark.parametrize(
    ("text", "samples", "share", "consistent"),
    [
        ("#### 4", ["#### 4", "The answer is 4", "#### 5", "#### 4"], 0.8, True),
        ("#### 4", ["#### 5", "#### 6"], 1 / 3, False),
        ("#### 4", [], 1.0, False),  # nothing to compare with: never consistent
        ("no number here", ["no number", "none"], 0.0, False),
    ],
)
def test_agreement_share_of_normalised_answers(text: str, samples: list[str], share: float, consistent: bool) -> None:
    """The share counts samples whose extracted answer equals this one; consistent at min_agreement."""
    analysis = SelfConsistencyScorer(k=5, min_agreement=0.6).score(_context(text, samples))
    assert analysis.measured()["agreement"] == pytest.approx(share)
    assert analysis.cqs == (100.0 if consistent else 0.0)


def test_other_models_samples_do_not_count() -> None:
    """Only samples of the answer's own model are compared."""
    context = _context("#### 4", [])
    other = ScoringContext(**{**context.__dict__, "samples": (Completion(text="#### 4", model="x"),)})
    assert SelfConsistencyScorer(k=2).score(other).measured()["agreement"] == 1.0
    assert SelfConsistencyScorer(k=2).score(other).cqs == 0.0


def test_code_is_judged_by_format_only() -> None:
    """Answers that cannot be compared as text fall back to the format signal."""
    analysis = SelfConsistencyScorer(k=3).score(_context("```python\nx = 1\n```", [], kind="code"))
    assert "answer_format" in analysis.measured()


@pytest.mark.parametrize(("k", "agreement"), [(1, 0.5), (3, 0.0), (3, 1.5)])
def test_bad_settings_are_refused(k: int, agreement: float) -> None:
    """k below 2 or an agreement outside (0, 1] is a configuration error."""
    with pytest.raises(ConfigError):
        SelfConsistencyScorer(k=k, min_agreement=agreement)


def _config() -> EscalationConfig:
    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("m",), threshold=50, min_attempts=1),
            Tier(name="premium", rank=1, models=("p",), threshold=0, min_attempts=1),
        ]
    )
    return EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)


@pytest.mark.parametrize(
    ("answers", "final_tier"), [(["#### 4"], "cheap"), (["#### 4", "#### 5", "#### 6"], "premium")]
)
def test_every_sample_is_billed_and_judged(answers: list[str], final_tier: str) -> None:
    """A team of k samples makes k billed calls; agreeing samples keep the item cheap, disagreeing ones climb."""
    provider = ScriptedProvider({"m": answers, "p": ["#### 4"]}, cost_per_call={"m": 0.001, "p": 0.1})
    scorer = SelfConsistencyScorer(k=3, min_agreement=0.6)
    executor = ProgressiveExecutor(
        _config(),
        provider,
        scorer=scorer,
        teams=lambda tier: SampledAgent(scorer.samples) if tier.name == "cheap" else default_team(1),
    )
    item = executor.run_sync([WorkItem(id="q", prompt="2 + 2?", task_kind="math-word-problem")]).items[0]
    cheap = item.tiers[0].attempts[0]
    assert cheap.calls == 3
    assert cheap.cost_usd == pytest.approx(0.003)
    assert item.final_tier == final_tier
