"""Run-time features of a prompt and of an answer paid for, and per-row cost estimates.

Everything here is computed from what a policy may know at run time: the prompt, the answers it
bought, and models fitted on *training* rows (costs included: training rows are labelled history).

:func:`answer_features` has a fixed width whatever the task kind, so one classifier can learn which
signals matter on a dataset: format (an explicit final-answer marker), length, agreement with the
answers already paid for, arithmetic claims that do not add up (math), syntax errors (code), a
final number copied from the prompt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from escalade.quality import check_arithmetic, inspect_answer

__all__ = ["ANSWER_FEATURES", "CostModel", "answer_features", "feature_matrix"]

#: Names of the columns :func:`answer_features` returns, in order.
ANSWER_FEATURES = (
    "answer_found",
    "explicit_final",
    "length",
    "lines",
    "agreeing",
    "agreeing_share",
    "first_answer",
    "arithmetic_wrong",
    "arithmetic_wrong_count",
    "arithmetic_checked",
    "final_not_integer",
    "final_negative",
    "final_copied_from_prompt",
    "syntax_error",
    "prompt_length",
)

_PROMPT_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_EXPLICIT_FINAL = re.compile(r"####|\banswer is\b|\\boxed\{", re.IGNORECASE)


def _number(answer: str | None) -> float | None:
    try:
        return float(answer) if answer is not None else None
    except ValueError:
        return None


def answer_features(text: str | None, task_kind: str, *, prompt: str, earlier: Sequence[str | None]) -> list[float]:
    """The :data:`ANSWER_FEATURES` of ``text``, an answer to ``prompt`` given after ``earlier`` answers."""
    inspected = inspect_answer(text, task_kind)
    mine = inspected.answer
    theirs = [inspect_answer(t, task_kind).answer for t in earlier]
    agreeing = sum(1 for a in theirs if mine is not None and a == mine)
    arithmetic = check_arithmetic(text) if task_kind == "math-word-problem" else None
    value = _number(mine) if task_kind == "math-word-problem" else None
    prompt_numbers = set(_PROMPT_NUMBER.findall(prompt.replace(",", "")))
    body = text or ""
    return [
        float(mine is not None),
        float(bool(_EXPLICIT_FINAL.search(body))),
        math.log1p(len(body)) / 10,
        math.log1p(body.count("\n")) / 5,
        float(agreeing),
        agreeing / len(theirs) if theirs else 0.0,
        float(not theirs),
        float(arithmetic is not None and arithmetic.wrong > 0),
        float(arithmetic.wrong) if arithmetic is not None else 0.0,
        math.log1p(arithmetic.checked) if arithmetic is not None else 0.0,
        float(value is not None and not value.is_integer()),
        float(value is not None and value < 0),
        float(mine is not None and value is not None and mine in prompt_numbers),
        float(bool(inspected.syntax_errors)),
        math.log1p(len(prompt)) / 10,
    ]


def feature_matrix(
    texts: Sequence[str | None],
    prompts: Sequence[str],
    task_kind: str,
    earlier: Sequence[Sequence[str | None]] | None = None,
) -> NDArray[np.float64]:
    """:func:`answer_features` of many answers, one row each (``earlier``: answers paid before each)."""
    before = earlier if earlier is not None else [()] * len(texts)
    rows = [answer_features(t, task_kind, prompt=p, earlier=e) for t, p, e in zip(texts, prompts, before, strict=True)]
    return np.array(rows, dtype=float).reshape(len(rows), len(ANSWER_FEATURES))


@dataclass(frozen=True)
class CostModel:
    """Expected cost of one model's answer from the prompt's length: ``slope * chars + intercept``.

    Fitted by least squares on training rows; a prompt's length is known before any call, so the
    estimate is available at run time. Never below the cheapest cost seen in training.
    """

    slope: float
    intercept: float
    floor: float

    @classmethod
    def fit(cls, prompts: Sequence[str], costs: NDArray[np.float64]) -> CostModel:
        """Fit on the rows where ``costs`` is known (not NaN)."""
        known = ~np.isnan(costs)
        lengths = np.array([len(p) for p in prompts], dtype=float)[known]
        paid = costs[known]
        if len(paid) == 0:
            return cls(0.0, 0.0, 0.0)
        if len(paid) < 2 or np.ptp(lengths) == 0:
            return cls(0.0, float(paid.mean()), float(paid.min()))
        slope, intercept = np.polyfit(lengths, paid, 1)
        if slope < 0:  # longer prompts are not cheaper: fall back to the mean
            return cls(0.0, float(paid.mean()), float(paid.min()))
        return cls(float(slope), float(intercept), float(paid.min()))

    def predict(self, prompts: Sequence[str]) -> NDArray[np.float64]:
        """Expected cost per prompt."""
        lengths = np.array([len(p) for p in prompts], dtype=float)
        return np.maximum(self.slope * lengths + self.intercept, self.floor)
