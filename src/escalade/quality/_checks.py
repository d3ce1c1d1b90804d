"""Checks an answer can be put to without knowing the right answer.

:func:`check_arithmetic` re-computes every arithmetic claim written as ``expression = number`` (for
example ``3 x 4 = 12`` or ``<<400+240=640>>640``) with a small evaluator that accepts numbers, the
four operations, percentages and parentheses only; nothing else is ever evaluated. A model that
states a wrong sum is much more likely to have a wrong final answer, so the count of wrong claims
is a run-time quality signal for math answers.

>>> check_arithmetic("She has 16 - 3 = 13 eggs, and 13 x 2 = 27 dollars.")
ArithmeticCheck(checked=2, wrong=1)
>>> check_arithmetic("no arithmetic here")
ArithmeticCheck(checked=0, wrong=0)
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ArithmeticCheck", "check_arithmetic"]

# A run of numbers, operators and parentheses, then "=", then a number. Linear on any text: a claim starts
# where its run of arithmetic starts, and a number where its digits start; every repetition is bounded
# (digit runs possessive); whitespace runs are collapsed first, and only MAX_CHECKED_CHARS are read.
# (Unbounded, long runs of spaces or digits made it quadratic.)
_CLAIM = re.compile(
    r"(?<![-+*/x×÷() \d,.$%])"
    r"((?:[-+*/x×÷() ]|\$?(?<![\d,.])\d[\d,]{0,30}+(?:\.\d{1,12})?%?){1,200}?)"
    r" ?= ?\$? ?(-?\d[\d,]{0,30}+(?:\.\d{1,12})?)"
)
_SPACES = re.compile(r"\s+")
#: Characters of an answer the arithmetic check reads (claims further on are not checked).
MAX_CHECKED_CHARS = 20_000
_HAS_OPERATION = re.compile(r"\d\s*[-+*/]\s*[\d(]")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")
_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_MAX_EXPRESSION = 200  # characters: longer runs are prose, not a claim


@dataclass(frozen=True, slots=True)
class ArithmeticCheck:
    """How many arithmetic claims were re-computed, and how many were wrong."""

    checked: int
    wrong: int


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError("not plain arithmetic")


def _value(expression: str) -> float | None:
    text = expression.replace("$", "").replace(",", "").replace("×", "*").replace("÷", "/").replace("x", "*")
    text = _PERCENT.sub(r"(\1/100)", text).strip()
    if len(text) > _MAX_EXPRESSION or not _HAS_OPERATION.search(text):
        return None
    try:
        return _evaluate(ast.parse(text, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


def check_arithmetic(text: str | None) -> ArithmeticCheck:
    """Re-compute the ``expression = number`` claims in ``text``.

    A claim is wrong when it is off by more than rounding to the stated precision explains: half a
    unit of its last digit (``33.33`` may stand for 33.333..., ``3760`` may not stand for 3744).
    """
    checked = wrong = 0
    for expression, stated in _CLAIM.findall(_SPACES.sub(" ", (text or "")[:MAX_CHECKED_CHARS])):
        value = _value(expression)
        if value is None:
            continue
        digits = stated.replace(",", "")
        claimed = float(digits)
        decimals = len(digits.partition(".")[2])
        checked += 1
        if abs(value - claimed) > 0.5 * 10.0**-decimals + 1e-9 * abs(claimed):
            wrong += 1
    return ArithmeticCheck(checked=checked, wrong=wrong)
