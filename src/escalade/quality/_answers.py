"""Extract a comparable final answer from a model's text, by task kind.

Run-time scorers use these to check an answer's format and to compare answers already paid for.

>>> extract_answer("B) because iron", "multiple-choice")
'B'
>>> extract_answer("so she makes 9 * $2 = $18.\\n#### 18", "math-word-problem")
'18'
>>> extract_answer("The answer is 1,250.00 dollars", "math-word-problem")
'1250'
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

__all__ = [
    "COMPARABLE_KINDS",
    "TASK_KINDS",
    "ExtractedAnswer",
    "check_task_kind",
    "extract_answer",
    "extract_code",
    "inspect_answer",
]

#: The task kinds escalade knows. The first four have their own answer reading (a letter, a number,
#: code, a short normalised text) and, except code, answers that can be compared for agreement.
#: ``free-text`` is for every other task (summaries, essays, open questions): answers are read as
#: text but never compared, so the consensus scorer checks only that there is an answer.
TASK_KINDS = ("multiple-choice", "math-word-problem", "code", "short-answer", "free-text")
#: Kinds whose answers can be compared as text (the same extracted answer means agreement).
COMPARABLE_KINDS = frozenset({"multiple-choice", "math-word-problem", "short-answer"})

_CHOICE_PATTERNS = (
    re.compile(r"^\s*\(?([A-J])\s*(?:[).:]|$)"),
    re.compile(r"(?:answer|choice|option)\s*(?:is|:)?\s*\(?([A-J])\b(?![a-z])", re.IGNORECASE),
)
_GSM_FINAL = re.compile(r"####\s*([-+$]?\s*[\d,]*\.?\d+)")
_NUMBER = re.compile(r"-?\$?\d[\d,]*\.?\d*|-?\.\d+")
_FENCE = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ExtractedAnswer:
    """What could be read from an answer text."""

    #: Normalised answer used for comparison, or ``None`` when none was found.
    answer: str | None
    #: Syntax problems (code answers only).
    syntax_errors: tuple[str, ...] = ()


def extract_answer(text: str | None, task_kind: str) -> str | None:
    """The normalised final answer in ``text`` for ``task_kind``, or ``None``."""
    return inspect_answer(text, task_kind).answer


def inspect_answer(text: str | None, task_kind: str) -> ExtractedAnswer:
    """Read the answer and any syntax errors from ``text``."""
    if text is None or not text.strip():
        return ExtractedAnswer(None)
    if task_kind == "multiple-choice":
        return ExtractedAnswer(_choice(text))
    if task_kind == "math-word-problem":
        return ExtractedAnswer(_number(text))
    if task_kind == "code":
        return _code(text)
    return ExtractedAnswer(" ".join(re.sub(r"[^\w\s.-]", " ", text.lower()).split()) or None)


def check_task_kind(kind: str) -> str | None:
    """Why ``kind`` is not a known task kind (with the closest one, when there is one), or ``None``.

    >>> check_task_kind("multiple-choice") is None
    True
    >>> check_task_kind("multiple_choice").split(";")[0]
    "unknown task kind 'multiple_choice' (did you mean 'multiple-choice'?)"
    """
    if kind in TASK_KINDS:
        return None
    close = difflib.get_close_matches(kind.strip().lower().replace("_", "-"), TASK_KINDS, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = f"{', '.join(TASK_KINDS[:-1])}, or {TASK_KINDS[-1]} for any other task"
    return f"unknown task kind {kind!r}{hint}; known kinds: {known}"


def _choice(text: str) -> str | None:
    for pattern in _CHOICE_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).upper()
    return None


def _normalise_number(raw: str) -> str | None:
    cleaned = raw.replace("$", "").replace(",", "").replace(" ", "").rstrip(".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def _number(text: str) -> str | None:
    final = _GSM_FINAL.search(text)
    if final:
        return _normalise_number(final.group(1))
    numbers = _NUMBER.findall(text)
    return _normalise_number(numbers[-1]) if numbers else None


def extract_code(text: str) -> str | None:
    """The Python code in ``text``: fenced blocks joined, else the whole text if it parses."""
    blocks = _FENCE.findall(text)
    if blocks:
        return "\n\n".join(block.strip("\n") for block in blocks)
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    return text


def _code(text: str) -> ExtractedAnswer:
    code = extract_code(text)
    if code is None:
        return ExtractedAnswer(None)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return ExtractedAnswer(None, (f"line {exc.lineno}: {exc.msg}",))
    if not any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for node in tree.body):
        return ExtractedAnswer(None)
    return ExtractedAnswer(ast.dump(tree, annotate_fields=False))
