"""``FailureAnalysis``: the quality signals of one answer and the Composite Quality Score.

The seed's formula, on 0–100::

    CQS = (0.40·test_pass_rate + 0.25·coverage + 0.20·assertion_quality + 0.15·llm_confidence)
          × syntax_penalty            (0.5 when syntax errors were found, else 1)

The ``weights`` declare which signals the score is made of (the seed's four by default). A declared
signal that was not measured counts as 0, exactly as in the formula: a scorer is never credited for
a signal it did not see. Scorers that measure other things (answer format, agreement between paid
answers, a learned verifier) declare their own signals and weights; the score is then the weighted
mean of the declared signals, on the same 0–100 scale.

>>> FailureAnalysis(test_pass_rate=1.0, coverage=0.8, assertion_quality=0.5, llm_confidence=0.9).cqs
83.5
>>> FailureAnalysis(test_pass_rate=0.4).cqs  # the other three seed signals count as 0
16.0
>>> FailureAnalysis(test_pass_rate=1.0, coverage=1.0, assertion_quality=1.0, llm_confidence=1.0,
...                 syntax_errors=("line 3: invalid syntax",)).cqs
50.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from escalade.exceptions import ConfigError

__all__ = ["CQS_WEIGHTS", "SYNTAX_PENALTY", "FailureAnalysis"]

#: Weights of the seed's four signals.
CQS_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"test_pass_rate": 0.40, "coverage": 0.25, "assertion_quality": 0.20, "llm_confidence": 0.15}
)
#: Factor applied to the score when syntax errors were found.
SYNTAX_PENALTY = 0.5

_SEED_SIGNALS = tuple(CQS_WEIGHTS)


@dataclass(frozen=True, kw_only=True)
class FailureAnalysis:
    """Measured quality signals of one answer, each in [0, 1] or ``None`` when not measured."""

    #: Share of tests (or checks) that passed.
    test_pass_rate: float | None = None
    #: Share of the target's lines/branches the tests cover.
    coverage: float | None = None
    #: Depth of assertions (trivial ones count as none).
    assertion_quality: float | None = None
    #: The model's own confidence.
    llm_confidence: float | None = None
    #: Syntax errors found; any halves the score.
    syntax_errors: tuple[str, ...] = ()
    #: Further named signals in [0, 1] from other scorers.
    signals: Mapping[str, float] = field(default_factory=dict)
    #: The signals the score is made of, with their weights (``None``: the seed's four).
    weights: Mapping[str, float] | None = None
    #: Human-readable observations behind the signals.
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "signals", MappingProxyType(dict(self.signals)))
        object.__setattr__(
            self, "weights", MappingProxyType(dict(CQS_WEIGHTS if self.weights is None else self.weights))
        )
        object.__setattr__(self, "syntax_errors", tuple(self.syntax_errors))
        object.__setattr__(self, "notes", tuple(self.notes))
        for name, value in self.measured().items():
            if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ConfigError(f"signal must be in [0, 1], got {value!r}", field=name)
        for name, weight in self.declared().items():
            if not (math.isfinite(weight) and weight >= 0):
                raise ConfigError(f"signal weight must be a finite number >= 0, got {weight!r}", field=name)
        undeclared = [n for n in self.measured() if n not in self.declared()]
        if undeclared:
            raise ConfigError(f"signals without a weight: {', '.join(undeclared)}", field="weights")

    def declared(self) -> Mapping[str, float]:
        """The signals the score is made of, with their weights."""
        assert self.weights is not None  # set in __post_init__
        return self.weights

    def measured(self) -> dict[str, float]:
        """Every signal that was measured, by name."""
        seed = {n: getattr(self, n) for n in _SEED_SIGNALS if getattr(self, n) is not None}
        return {**seed, **self.signals}

    @property
    def cqs(self) -> float:
        """Composite Quality Score, 0–100."""
        return self.calculate_quality_score()

    def calculate_quality_score(self) -> float:
        """Composite Quality Score, 0–100: weighted mean of the declared signals (unmeasured: 0) × penalty."""
        declared, measured = self.declared(), self.measured()
        total_weight = sum(declared.values())
        if total_weight <= 0:
            return 0.0
        base = sum(w * measured.get(n, 0.0) for n, w in declared.items()) / total_weight
        penalty = SYNTAX_PENALTY if self.syntax_errors else 1.0
        return round(100.0 * base * penalty, 6)

    def merge(self, other: FailureAnalysis) -> FailureAnalysis:
        """Combine two analyses; ``other``'s measured values win where both measured one."""
        seed = {n: getattr(other, n) if getattr(other, n) is not None else getattr(self, n) for n in _SEED_SIGNALS}
        return replace(
            self,
            **seed,
            syntax_errors=self.syntax_errors + other.syntax_errors,
            signals={**self.signals, **other.signals},
            weights={**self.declared(), **other.declared()},
            notes=self.notes + other.notes,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: measured signals, syntax errors, notes and the score."""
        return {
            "cqs": self.cqs,
            "signals": self.measured(),
            "syntax_errors": list(self.syntax_errors),
            "notes": list(self.notes),
        }
