"""Quality: signals, the Composite Quality Score, scorers and escalation predicates."""

from escalade.quality.analysis import CQS_WEIGHTS, SYNTAX_PENALTY, FailureAnalysis
from escalade.quality.answers import extract_answer, extract_code, inspect_answer
from escalade.quality.predicates import (
    EscalationPredicate,
    PredicateContext,
    all_of,
    any_of,
    below_threshold,
    has_syntax_errors,
    signal_below,
)
from escalade.quality.scorers import (
    AnsweredAttempt,
    CombinedScorer,
    ConsensusScorer,
    Scorer,
    ScorerLike,
    ScoringContext,
    as_scorer,
)

__all__ = [
    "CQS_WEIGHTS",
    "SYNTAX_PENALTY",
    "AnsweredAttempt",
    "CombinedScorer",
    "ConsensusScorer",
    "EscalationPredicate",
    "FailureAnalysis",
    "PredicateContext",
    "Scorer",
    "ScorerLike",
    "ScoringContext",
    "all_of",
    "any_of",
    "as_scorer",
    "below_threshold",
    "extract_answer",
    "extract_code",
    "has_syntax_errors",
    "inspect_answer",
    "signal_below",
]
