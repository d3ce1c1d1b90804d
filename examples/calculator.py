"""A small calculator with edge cases: the example target of ``escalade testgen``.

escalade testgen examples/calculator.py --answers examples/calculator_answers.json --out generated_tests
"""

from __future__ import annotations

from collections.abc import Sequence


def add(a: float, b: float) -> float:
    """The sum of ``a`` and ``b``."""
    return a + b


def divide(a: float, b: float) -> float:
    """``a / b``; dividing by zero raises ``ZeroDivisionError``."""
    if b == 0:
        raise ZeroDivisionError("cannot divide by zero")
    return a / b


def parse_number(text: str) -> float:
    """A number as people write it: ``"1,234.5"`` is 1234.5, ``"(3)"`` is -3 (accounting style).

    Blank or malformed text raises ``ValueError``.
    """
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        raise ValueError("empty number")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    if negative:
        cleaned = cleaned[1:-1].strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    return -value if negative else value


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean; an empty sequence raises ``ValueError``."""
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def percentage(part: float, whole: float, *, decimals: int = 1) -> float:
    """``part`` as a percentage of ``whole``, rounded to ``decimals``; a zero ``whole`` raises ``ZeroDivisionError``."""
    if whole == 0:
        raise ZeroDivisionError("whole is zero")
    return round(100 * part / whole, decimals)


class Calculator:
    """A running total with a history of operations; ``undo`` reverts the last one."""

    def __init__(self) -> None:
        self.total = 0.0
        self.history: list[tuple[str, float]] = []

    def apply(self, op: str, value: float) -> float:
        """Apply ``op`` (``+ - * /``) with ``value`` to the total and return it."""
        self.total = self._step(self.total, op, value)
        self.history.append((op, value))
        return self.total

    def undo(self) -> float:
        """Revert the last operation; with nothing to undo, raise ``ValueError``."""
        if not self.history:
            raise ValueError("nothing to undo")
        self.history.pop()
        self.total = 0.0
        for op, value in self.history:
            self.total = self._step(self.total, op, value)
        return self.total

    @staticmethod
    def _step(total: float, op: str, value: float) -> float:
        if op == "+":
            return total + value
        if op == "-":
            return total - value
        if op == "*":
            return total * value
        if op == "/":
            return divide(total, value)
        raise ValueError(f"unknown operation {op!r}")
