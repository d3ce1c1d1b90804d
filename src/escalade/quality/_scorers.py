"""Scorers: strategies that turn one attempt's answer into a :class:`FailureAnalysis`.

A scorer is anything with ``score(context) -> FailureAnalysis``, or a plain function of the
context. A scorer that has to run something (generated tests, say) may return an awaitable of the
analysis instead; the cascade awaits it. Scorers combine with ``&`` (both measure; signals are
merged). They see only what a real
system sees at run time: the task and the answers already paid for (:class:`ScoringContext`).

:class:`SelfConsistencyScorer` judges a lone answer by the agreement of ``k`` samples of the same
model. The default :class:`ConsensusScorer` checks the answer's format (and code syntax) and whether
independent models that were already paid for gave the same answer (FrugalGPT-style consistency).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, TypeAlias, runtime_checkable

from escalade.exceptions import ConfigError
from escalade.providers import Completion
from escalade.quality._analysis import CQS_WEIGHTS, FailureAnalysis
from escalade.quality._answers import COMPARABLE_KINDS, inspect_answer

__all__ = [
    "AnsweredAttempt",
    "CombinedScorer",
    "ConsensusScorer",
    "ScoreResult",
    "Scorer",
    "ScorerBase",
    "ScorerLike",
    "ScoringContext",
    "SelfConsistencyScorer",
    "as_scorer",
    "score_now",
]


@dataclass(frozen=True, kw_only=True)
class AnsweredAttempt:
    """An earlier answer to the same item that was paid for."""

    #: Tier that produced it.
    tier: str
    #: Model that produced it.
    model: str
    #: The answer text.
    text: str | None


@dataclass(frozen=True, kw_only=True)
class ScoringContext:
    """Everything a scorer may look at for one attempt (run-time knowledge only)."""

    #: Id of the work item.
    item_id: str
    #: The task as the model saw it.
    prompt: str
    #: Kind of task (``multiple-choice``, ``code``, ``math-word-problem``, ``short-answer``, ...).
    task_kind: str
    #: Tier of this attempt.
    tier: str
    #: 1-based attempt number on this tier.
    attempt: int
    #: The answer being scored (the final completion of the attempt's team).
    completion: Completion
    #: Earlier answers to this item, oldest first, on any tier.
    history: Sequence[AnsweredAttempt] = field(default_factory=tuple)
    #: Free-form item metadata.
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Further answers of the same model sampled in this attempt (self-consistency), paid for like any call.
    samples: Sequence[Completion] = field(default_factory=tuple)


#: What a scorer gives: the analysis, or an awaitable of it (for scorers that run something).
ScoreResult: TypeAlias = "FailureAnalysis | Awaitable[FailureAnalysis]"


@runtime_checkable
class Scorer(Protocol):
    """Measures the quality signals of one attempt."""

    def score(self, context: ScoringContext) -> ScoreResult:
        """Signals of the attempt described by ``context`` (or an awaitable of them)."""
        ...


#: A scorer object or a plain function of the context.
ScorerLike: TypeAlias = "Scorer | Callable[[ScoringContext], ScoreResult]"


async def score_now(scorer: Scorer, context: ScoringContext) -> FailureAnalysis:
    """``scorer``'s analysis of ``context``, awaited when the scorer is asynchronous."""
    result = scorer.score(context)
    return await result if inspect.isawaitable(result) else result


class ScorerBase:
    """Base of the built-in scorers: adds ``&`` (combine) to ``score``."""

    def score(self, context: ScoringContext) -> ScoreResult:
        raise NotImplementedError

    def __and__(self, other: ScorerLike) -> CombinedScorer:
        return CombinedScorer(self, other)


class _FunctionScorer(ScorerBase):
    def __init__(self, fn: Callable[[ScoringContext], ScoreResult]) -> None:
        self._fn = fn

    def score(self, context: ScoringContext) -> ScoreResult:
        return self._fn(context)

    def __repr__(self) -> str:
        return f"scorer({getattr(self._fn, '__name__', self._fn)!r})"


def as_scorer(scorer: ScorerLike) -> ScorerBase:
    """A built-in-style scorer (combinable with ``&``) from a scorer object or a plain function."""
    if isinstance(scorer, ScorerBase):
        return scorer
    if isinstance(scorer, Scorer):
        return _FunctionScorer(scorer.score)
    return _FunctionScorer(scorer)


class CombinedScorer(ScorerBase):
    """Runs several scorers and merges their signals (later scorers win on a shared signal)."""

    def __init__(self, *scorers: ScorerLike) -> None:
        self.scorers = tuple(as_scorer(s) for s in scorers)

    def score(self, context: ScoringContext) -> ScoreResult:
        results = [scorer.score(context) for scorer in self.scorers]
        if any(inspect.isawaitable(r) for r in results):
            return self._merge_awaited(results)
        return self._merge([r for r in results if isinstance(r, FailureAnalysis)])

    @staticmethod
    def _merge(analyses: Sequence[FailureAnalysis]) -> FailureAnalysis:
        merged = FailureAnalysis(weights={})
        for analysis in analyses:
            merged = merged.merge(analysis)
        return merged

    async def _merge_awaited(self, results: Sequence[ScoreResult]) -> FailureAnalysis:
        return self._merge([await r if inspect.isawaitable(r) else r for r in results])

    def __and__(self, other: ScorerLike) -> CombinedScorer:
        return CombinedScorer(*self.scorers, other)

    def __repr__(self) -> str:
        return " & ".join(repr(s) for s in self.scorers)


#: Task kinds whose extracted answers can be compared for agreement.


class ConsensusScorer(ScorerBase):
    """Run-time scorer: answer format, code syntax, and agreement with answers already paid for.

    Signals (weights in brackets):

    - ``answer_format`` [0.2]: a final answer could be read in the form the task asks for.
    - ``corroboration`` [0.5]: another model, already paid for, gave the same answer (1) or not (0).
    - ``majority`` [0.3]: share of the models that answered this item so far (this one included)
      that gave this answer.
    - ``llm_confidence`` [0.15]: the model's own confidence, when it reported one.

    Agreement counts distinct models, so asking the same model again never corroborates itself.
    For task kinds whose answers cannot be compared as text (code), agreement is not measured and
    only format and syntax count. A lone, well-formed answer scores 50; one corroborated by every
    other model scores 100; answering with no readable answer scores 0.
    """

    weights: ClassVar[Mapping[str, float]] = MappingProxyType(
        {"answer_format": 0.2, "corroboration": 0.5, "majority": 0.3}
    )

    def score(self, context: ScoringContext) -> FailureAnalysis:
        kind = context.task_kind
        mine = inspect_answer(context.completion.text, kind)
        notes: list[str] = []
        signals: dict[str, float] = {"answer_format": 1.0 if mine.answer is not None else 0.0}
        if mine.answer is None:
            notes.append("no answer in the expected format" if context.completion.text else "empty answer")
        if kind in COMPARABLE_KINDS and mine.answer is not None:
            others = self._other_answers(context)
            agreeing = sorted(m for m, a in others.items() if a == mine.answer)
            signals["corroboration"] = 1.0 if agreeing else 0.0
            signals["majority"] = (len(agreeing) + 1) / (len(others) + 1)
            if agreeing:
                notes.append(f"agrees with {', '.join(agreeing)}")
            elif others:
                notes.append(f"disagrees with {', '.join(sorted(others))}")
            else:
                notes.append("no other answer to compare with yet")
        weights = dict(self.weights) if kind in COMPARABLE_KINDS else {"answer_format": 1.0}
        if context.completion.confidence is not None:
            weights["llm_confidence"] = CQS_WEIGHTS["llm_confidence"]
        return FailureAnalysis(
            llm_confidence=context.completion.confidence,
            syntax_errors=mine.syntax_errors,
            signals=signals,
            weights=weights,
            notes=tuple(notes),
        )

    @staticmethod
    def _other_answers(context: ScoringContext) -> dict[str, str]:
        answers: dict[str, str] = {}
        for past in context.history:
            if past.model == context.completion.model:
                continue
            answer = inspect_answer(past.text, context.task_kind).answer
            if answer is not None:
                answers[past.model] = answer
        return answers

    def __repr__(self) -> str:
        return "ConsensusScorer()"


class SelfConsistencyScorer(ScorerBase):
    """Run-time scorer: agreement of ``k`` sampled answers of one model (self-consistency).

    The attempt's team asks the same model ``k`` times (:attr:`samples` tells the cascade how many;
    every call is a guarded, billed call, so the extra samples' cost is in the attempt's cost). The
    scorer reads the answer and the other samples (:attr:`ScoringContext.samples`), normalises each
    to its extracted answer, and measures the share of the samples that give the same answer.

    Signals: ``consistent`` [1.0] is 1 when that share reaches ``min_agreement`` and at least two
    samples were compared, else 0; ``agreement`` [0] is the share itself, for the record. An answer
    with no readable final answer is never consistent. For task kinds whose answers cannot be
    compared as text (code), only the format counts.

    >>> SelfConsistencyScorer(k=5, min_agreement=0.6)
    SelfConsistencyScorer(k=5, min_agreement=0.6)
    """

    weights: ClassVar[Mapping[str, float]] = MappingProxyType({"consistent": 1.0, "agreement": 0.0})

    def __init__(self, *, k: int = 5, min_agreement: float = 0.6) -> None:
        if k < 2:
            raise ConfigError(f"self-consistency needs at least 2 samples, got k={k}", field="k")
        if not 0.0 < min_agreement <= 1.0:
            raise ConfigError(f"must be in (0, 1], got {min_agreement}", field="min_agreement")
        self.k = k
        self.min_agreement = min_agreement

    @property
    def samples(self) -> int:
        """Answers of the same model each attempt needs (the first one included)."""
        return self.k

    def score(self, context: ScoringContext) -> FailureAnalysis:
        kind = context.task_kind
        mine = inspect_answer(context.completion.text, kind)
        if kind not in COMPARABLE_KINDS:
            note = "answers of this kind cannot be compared: format only"
            return FailureAnalysis(
                syntax_errors=mine.syntax_errors,
                signals={"answer_format": float(mine.answer is not None)},
                weights={"answer_format": 1.0},
                notes=(note,),
            )
        others = [inspect_answer(c.text, kind).answer for c in context.samples if c.model == context.completion.model]
        total = len(others) + 1
        agreeing = 1 + sum(1 for a in others if mine.answer is not None and a == mine.answer)
        share = agreeing / total if mine.answer is not None else 0.0
        consistent = mine.answer is not None and total >= 2 and share >= self.min_agreement
        note = f"self-consistency: {agreeing if mine.answer is not None else 0} of {total} samples agree"
        if total < self.k:
            note += f" (only {total} of the {self.k} asked for could be sampled)"
        return FailureAnalysis(
            syntax_errors=mine.syntax_errors,
            signals={"consistent": float(consistent), "agreement": share},
            weights=dict(self.weights),
            notes=(note,),
        )

    def __repr__(self) -> str:
        return f"SelfConsistencyScorer(k={self.k}, min_agreement={self.min_agreement})"
