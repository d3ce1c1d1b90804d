"""Answer extraction by task kind."""

from __future__ import annotations

import pytest

from escalade.quality import extract_answer, extract_code, inspect_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A", "A"),
        ("B\n", "B"),
        ("C) palms covered with oil", "C"),
        ("(D)", "D"),
        ("The answer is B.", "B"),
        ("Answer: c", "C"),
        ("I don't have enough information", None),
        ("Unfortunately I cannot answer", None),
        ("", None),
        (None, None),
    ],
)
def test_multiple_choice(text: str | None, expected: str | None) -> None:
    """Single letters, letters with brackets and 'answer is X' are read; refusals are not."""
    assert extract_answer(text, "multiple-choice") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("she makes 9 * $2 = $18.\n#### 18", "18"),
        ("#### 1,250", "1250"),
        ("So the total is 42.50 dollars.", "42.5"),
        ("The result is 7.0", "7"),
        ("no numbers here", None),
    ],
)
def test_math(text: str, expected: str | None) -> None:
    """The #### marker wins, else the last number; numbers are normalised."""
    assert extract_answer(text, "math-word-problem") == expected


def test_code_blocks_and_syntax_errors() -> None:
    """Code is read from fences; syntax errors are reported; text without a function is no answer."""
    good = "Here:\n```python\ndef f(x):\n    return x + 1\n```\n"
    assert extract_code(good) == "def f(x):\n    return x + 1"
    assert inspect_answer(good, "code").answer is not None
    bad = inspect_answer("```python\ndef f(x) return x\n```", "code")
    assert bad.answer is None
    assert bad.syntax_errors
    assert bad.syntax_errors[0].startswith("line 1")
    assert inspect_answer("Just prose, no code.", "code").answer is None
    assert inspect_answer("x = 1", "code").answer is None


def test_short_answer_normalised() -> None:
    """Free text compares case- and punctuation-insensitively."""
    assert extract_answer("Paris!", "short-answer") == extract_answer("paris", "short-answer")
