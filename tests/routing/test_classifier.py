"""Classifiers that place a task on a tier."""

from __future__ import annotations

import pytest

from escalade.routing import CognitiveClassifier, LearnedClassifier
from escalade.routing.learned import CompiledGainRouter
from tests.denial import HOSTILE_CHARS, assert_linear


@pytest.mark.parametrize(
    ("description", "rank"),
    [
        ("Fix a typo in the README", 0),
        ("Rename the variable and reformat the file", 0),
        ("Write a function that returns the sum of a list of integers", 0),
        ("Analyze why the cache misses and plan a fix", 2),
        ("Design the architecture for multi-region failover and explain the trade-offs", 2),
        ("Debug this:\n```python\ndef f(x):\n    return x[0]\n```", 1),
    ],
)
def test_cognitive_classifier_levels(description: str, rank: int) -> None:
    """Routine edits start cheap, reasoning and design start high, code with a request lands between."""
    assert CognitiveClassifier().classify(description, tiers=3).rank == rank


def test_cognitive_classifier_respects_the_ladder_size() -> None:
    """On two tiers, only a premium-level demand leaves the first tier; on one tier everything stays."""
    design = "Design the architecture for multi-region failover and explain the trade-offs"
    code = "Debug this:\n```python\ndef f(x):\n    return x[0]\n```"
    assert CognitiveClassifier().classify(design, tiers=2).rank == 1
    assert CognitiveClassifier().classify(code, tiers=2).rank == 0
    assert CognitiveClassifier().classify(design, tiers=1).rank == 0


def test_cognitive_classifier_explains_itself() -> None:
    """The reasons name the cues that moved the score."""
    result = CognitiveClassifier().classify("Fix a typo and design a plan", tiers=3)
    text = " ".join(result.reasons)
    assert "typo" in text
    assert "design" in text
    assert 0.5 <= result.confidence <= 0.95


class _FixedPriority(CompiledGainRouter):
    def __init__(self, value: float) -> None:
        self.value = value

    def priority(self, prompt: str) -> float:
        return self.value


@pytest.mark.parametrize(("priority", "rank"), [(2.0, 2), (0.5, 0)])
def test_learned_classifier_uses_the_cutoff(priority: float, rank: int) -> None:
    """At or above the cutoff the task starts on the top tier, below it on the first."""
    result = LearnedClassifier(_FixedPriority(priority), cutoff=1.0).classify("q", tiers=3)
    assert result.rank == rank
    assert "cutoff" in result.reasons[0]


def test_hostile_prompts_are_classified_in_linear_time() -> None:
    """``^\\s*`` across newlines once made the requirement pattern quadratic."""
    classifier = CognitiveClassifier()
    n = HOSTILE_CHARS
    assert_linear(lambda text: classifier.classify(text, tiers=3), "\n" * n + "x", " \n" * (n // 2), "1." * (n // 2))
