"""Re-computing arithmetic claims in an answer."""

from __future__ import annotations

import pytest

from escalade.quality import ArithmeticCheck, check_arithmetic
from tests.denial import HOSTILE_CHARS, assert_linear


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16 - 3 = 13 eggs", ArithmeticCheck(checked=1, wrong=0)),
        ("0.40 * 9 * 1040 = $3760", ArithmeticCheck(checked=1, wrong=1)),
        ("<<400+240=640>>640 apartments", ArithmeticCheck(checked=1, wrong=0)),
        ("$1,200 x 3 = $3,600", ArithmeticCheck(checked=1, wrong=0)),
        ("20% of 50 is 20% * 50 = 10", ArithmeticCheck(checked=1, wrong=0)),
        ("(3 + 4) × 2 = 14 and 10 ÷ 4 = 2.5", ArithmeticCheck(checked=2, wrong=0)),
        ("100 / 3 = 33.33 dollars each", ArithmeticCheck(checked=1, wrong=0)),
        ("x = 5, then y = 7", ArithmeticCheck(checked=0, wrong=0)),
        ("", ArithmeticCheck(checked=0, wrong=0)),
        (None, ArithmeticCheck(checked=0, wrong=0)),
    ],
)
def test_claims_are_recomputed(text: str | None, expected: ArithmeticCheck) -> None:
    """Claims with an operation are checked, within rounding; plain assignments are not claims."""
    assert check_arithmetic(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "5 / 0 = 3",  # division by zero
        "2 ** 99999 = 1",  # powers are not plain arithmetic
        "__import__('os').system('true') = 0",  # names are never evaluated
        "1 + " * 200 + "1 = 201",  # too long to be a claim
    ],
)
def test_unsafe_or_unreadable_claims_are_skipped(text: str) -> None:
    """Anything beyond numbers, four operations and parentheses is skipped, never evaluated."""
    assert check_arithmetic(text).wrong == 0


def test_hostile_answers_are_checked_in_linear_time() -> None:
    """Long runs of spaces, digits or both once made the claim pattern quadratic."""
    n = HOSTILE_CHARS
    assert_linear(check_arithmetic, " " * n, "1" * n, "1 " * (n // 2), "1+" * (n // 2), "= 1 " * (n // 4))
    assert check_arithmetic("1" * n + " 2 + 2 = 5") == ArithmeticCheck(checked=0, wrong=0)  # past the checked start
