"""Quality: signals, the Composite Quality Score, scorers and escalation predicates."""

from escalade.quality._analysis import CQS_WEIGHTS, SYNTAX_PENALTY, FailureAnalysis
from escalade.quality._answers import (
    COMPARABLE_KINDS,
    TASK_KINDS,
    ExtractedAnswer,
    check_task_kind,
    extract_answer,
    extract_code,
    inspect_answer,
)
from escalade.quality._checks import ArithmeticCheck, check_arithmetic
from escalade.quality._predicates import (
    EscalationPredicate,
    PredicateContext,
    all_of,
    any_of,
    below_threshold,
    has_syntax_errors,
    signal_below,
)
from escalade.quality._scorers import (
    AnsweredAttempt,
    CombinedScorer,
    ConsensusScorer,
    Scorer,
    ScorerBase,
    ScoreResult,
    ScorerLike,
    ScoringContext,
    SelfConsistencyScorer,
    as_scorer,
    score_now,
)

__all__ = [
    "COMPARABLE_KINDS",
    "CQS_WEIGHTS",
    "SYNTAX_PENALTY",
    "TASK_KINDS",
    "AnsweredAttempt",
    "ArithmeticCheck",
    "CombinedScorer",
    "ConsensusScorer",
    "EscalationPredicate",
    "ExtractedAnswer",
    "FailureAnalysis",
    "PredicateContext",
    "ScoreResult",
    "Scorer",
    "ScorerBase",
    "ScorerLike",
    "ScoringContext",
    "SelfConsistencyScorer",
    "all_of",
    "any_of",
    "as_scorer",
    "below_threshold",
    "check_arithmetic",
    "check_task_kind",
    "extract_answer",
    "extract_code",
    "has_syntax_errors",
    "inspect_answer",
    "score_now",
    "signal_below",
]
