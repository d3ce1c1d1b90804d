"""Classifiers that put a task on a tier from the task itself.

- :class:`CognitiveClassifier` reads the demand a prompt makes: how long it is, how many separate
  requirements it lists, whether it asks for reasoning or design (``prove``, ``trade-offs``,
  ``architecture``) or for a routine edit (``rename``, ``fix typo``, ``reformat``), and whether it
  carries code. The demand maps to the ladder's first, middle or top tier. It needs no training and
  is the default.
- :class:`LearnedClassifier` wraps a fitted prompt-only :class:`~escalade.routing.learned._gain.GainRouter`:
  tasks whose expected gain per dollar reaches ``cutoff`` start on the top tier, the rest on the
  first.

Both return a :class:`Classification` with the tier's *rank* (0 = cheapest), a confidence and
reasons a person can read.

>>> CognitiveClassifier().classify("Fix a typo in the README", tiers=3).rank
0
>>> CognitiveClassifier().classify(
...     "Design the architecture for multi-region failover and explain the trade-offs", tiers=3
... ).rank
2
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from escalade.routing.learned._gain import CompiledGainRouter

__all__ = ["Classification", "CognitiveClassifier", "LearnedClassifier", "TierClassifier"]


@dataclass(frozen=True)
class Classification:
    """Where a classifier would start a task."""

    #: Rank of the tier (0 = cheapest), already within the ladder.
    rank: int
    #: How sure the classifier is, in [0, 1].
    confidence: float
    reasons: tuple[str, ...]


class TierClassifier(Protocol):
    """Puts a task description on one of ``tiers`` tiers."""

    def classify(self, description: str, *, tiers: int) -> Classification:
        """Classification of ``description`` on a ladder of ``tiers`` tiers."""
        ...


_WORD = re.compile(r"[A-Za-z0-9_']+")
_REASONING = re.compile(
    r"\b(?:prove|proof|derive|design|architect\w*|trade-?offs?|analy[sz]e|analysis|reason about|explain why|"
    r"optimi[sz]e|strategy|evaluate|compare|plan|investigate|debug|root cause|edge cases?|invariants?)\b",
    re.IGNORECASE,
)
_ROUTINE = re.compile(
    r"\b(?:typos?|rename|reformat|format|lint|docstrings?|comments?|spelling|wording|colou?rs?|translate|"
    r"summari[sz]e|bump|version string|readme|changelog|capitali[sz]e|whitespace|indent\w*)\b",
    re.IGNORECASE,
)
# ``[ \t]`` rather than ``\s`` at a line's start: ``^\s*`` would run across every following newline (quadratic).
_REQUIREMENT = re.compile(
    r"(?:^[ \t]*(?:[-*•]|\d{1,3}[.)])[ \t]+)|(?:;\s)|\b(?:and then|also|additionally|must)\b", re.M
)
_FENCED = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_CODE = re.compile(r"```|\bdef |\bclass |=>|\{\s*$|;\s*$", re.MULTILINE)


class CognitiveClassifier:
    """Heuristic demand score of a prompt, mapped to a tier; see the module docstring.

    The score adds: length (one point per ``long_words`` words, at most 2), distinct reasoning cues
    (1.5 each, at most 3 points), listed requirements (0.5 each, at most 2 points) and code (1), and
    subtracts distinct routine cues (1.5 each, at most 3 points). A score below ``capable_at`` starts
    cheap, below ``premium_at`` capable, else premium; on a two-tier ladder "capable" means the first
    tier.
    """

    def __init__(self, *, long_words: int = 120, capable_at: float = 1.5, premium_at: float = 3.0) -> None:
        self.long_words = long_words
        self.capable_at = capable_at
        self.premium_at = premium_at

    def classify(self, description: str, *, tiers: int) -> Classification:
        words = len(_WORD.findall(description))
        prose = _FENCED.sub(" ", description)  # cues and requirements are read outside code blocks
        reasoning = sorted({m.group(0).lower() for m in _REASONING.finditer(prose)})
        routine = sorted({m.group(0).lower() for m in _ROUTINE.finditer(prose)})
        requirements = len(_REQUIREMENT.findall(prose))
        has_code = bool(_CODE.search(description))
        score = (
            min(words / self.long_words, 2.0)
            + 1.5 * min(len(reasoning), 2)
            + 0.5 * min(requirements, 4)
            + (1.0 if has_code else 0.0)
            - 1.5 * min(len(routine), 2)
        )
        level = 0 if score < self.capable_at else 1 if score < self.premium_at else 2
        top = max(tiers - 1, 0)
        rank = min(level, top) if tiers > 2 else (top if level == 2 else 0)
        margin = min(abs(score - self.capable_at), abs(score - self.premium_at))
        reasons = [f"demand score {score:.1f} ({words} words)"]
        if reasoning:
            reasons.append(f"asks for reasoning: {', '.join(reasoning)}")
        if routine:
            reasons.append(f"routine edit: {', '.join(routine)}")
        if requirements:
            reasons.append(f"{requirements} extra requirement(s)")
        if has_code:
            reasons.append("contains code")
        return Classification(rank=rank, confidence=round(min(0.5 + margin / 4, 0.95), 3), reasons=tuple(reasons))


@dataclass(frozen=True)
class LearnedClassifier:
    """A fitted gain router: tasks reaching ``cutoff`` start on the top tier, others on the first."""

    router: CompiledGainRouter
    cutoff: float

    def classify(self, description: str, *, tiers: int) -> Classification:
        priority = self.router.priority(description)
        strong = priority >= self.cutoff
        margin = abs(priority - self.cutoff) / (abs(self.cutoff) + 1e-12)
        return Classification(
            rank=max(tiers - 1, 0) if strong else 0,
            confidence=round(min(0.5 + margin / 2, 0.95), 3),
            reasons=(f"learned gain per dollar {priority:.3g} {'≥' if strong else '<'} cutoff {self.cutoff:.3g}",),
        )
