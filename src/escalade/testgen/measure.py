"""The seed's quality signals of a generated test file, measured by running it.

- **test_pass_rate**: passed tests / collected tests (0 when none could be collected or run).
- **coverage**: of the target's own lines and branches (coverage.py, branch mode), only those of the
  function or class the tests were written for: (lines run + branches taken) / (lines + branches).
- **assertion_quality**: per test, meaningful assertions counted up to two, so two or more give a
  full score; averaged over the tests. An ``assert`` of a constant, of two identical expressions
  (``x == x``, ``x is x``) or of two constants counts as none. ``pytest.raises``/``warns`` blocks
  and ``self.assert*`` calls count like asserts.
- **llm_confidence**: the model's own confidence, from the completion when the provider gives one,
  else from a ``# confidence: 0.8`` line in the answer; absent, it counts as 0 (as in the formula).
- **syntax_errors**: the answer does not parse; the score is halved.

>>> assertion_quality(ast.parse("def test_a():\\n    assert f(1) == 2\\n    assert True\\n"))
0.5
>>> confidence_in("...\\n# confidence: 0.85")
0.85
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from escalade.quality.analysis import FailureAnalysis
from escalade.quality.answers import extract_code
from escalade.testgen.sandbox import SandboxRun
from escalade.testgen.targets import TestTarget, physical_lines

__all__ = [
    "answer_code",
    "assertion_quality",
    "confidence_in",
    "count_kept",
    "coverage_of",
    "keep_passing",
    "measure",
]

_CONFIDENCE = re.compile(r"confidence\s*[:=]\s*(0(?:\.\d*)?|1(?:\.0*)?)(?![\d.])", re.IGNORECASE)
_FULL_MARKS = 2  # meaningful assertions per test for a full score
_RAISES = {"raises", "warns", "deprecated_call"}


def answer_code(text: str | None) -> str:
    """The test file in an answer: its fenced Python blocks, else the whole text."""
    if not text:
        return ""
    return extract_code(text) or text


def confidence_in(text: str | None) -> float | None:
    """The confidence the model stated (``confidence: 0.8``), if it did."""
    found = _CONFIDENCE.search(text or "")
    return float(found.group(1)) if found else None


def _tests(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Test functions: ``test*`` at module level or in ``Test*`` classes."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            found.append(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += [
                m
                for m in node.body
                if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name.startswith("test")
            ]
    return found


def _trivial(test: ast.expr) -> bool:
    """An assertion that cannot fail: a constant, or a comparison of identical or constant sides."""
    if isinstance(test, ast.Constant):
        return True
    if isinstance(test, ast.Tuple) and test.elts:  # ``assert (x == y, "message")`` is always true
        return True
    if isinstance(test, ast.Compare) and len(test.comparators) == 1:
        left, right = test.left, test.comparators[0]
        if ast.dump(left) == ast.dump(right):
            return True
        return isinstance(left, ast.Constant) and isinstance(right, ast.Constant)
    return False


def _meaningful(node: ast.AST) -> int:
    """Meaningful assertions in a test body."""
    count = 0
    for child in ast.walk(node):
        if isinstance(child, ast.Assert) and not _trivial(child.test):
            count += 1
        elif isinstance(child, ast.With | ast.AsyncWith):
            count += sum(1 for item in child.items if _call_named(item.context_expr, _RAISES))
        elif isinstance(child, ast.Call) and _method_of_self(child, "assert"):
            args = child.args
            identical = len(args) >= 2 and ast.dump(args[0]) == ast.dump(args[1])
            count += 0 if identical or all(isinstance(a, ast.Constant) for a in args) else 1
    return count


def _call_named(node: ast.expr, names: set[str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in names


def _method_of_self(call: ast.Call, prefix: str) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr.startswith(prefix)
        and isinstance(func.value, ast.Name)
        and func.value.id == "self"
    )


def assertion_quality(tree: ast.Module) -> float:
    """Mean over tests of min(meaningful assertions, 2) / 2; 0 without tests."""
    tests = _tests(tree)
    if not tests:
        return 0.0
    return sum(min(_meaningful(t), _FULL_MARKS) / _FULL_MARKS for t in tests) / len(tests)


def coverage_of(target: TestTarget, run: SandboxRun) -> float:
    """Share of the target's own lines and branches the tests exercised (0 when it never ran)."""
    span = range(target.lineno, target.end_lineno + 1)
    lines_hit = sum(1 for line in run.executed_lines if line in span)
    lines = lines_hit + sum(1 for line in run.missing_lines if line in span)
    branches_hit = sum(1 for start, _ in run.executed_branches if start in span)
    branches = branches_hit + sum(1 for start, _ in run.missing_branches if start in span)
    total = lines + branches
    return (lines_hit + branches_hit) / total if total else 0.0


def measure(target: TestTarget, code: str, run: SandboxRun | None, *, confidence: float | None) -> FailureAnalysis:
    """The signals of ``code`` (``run`` is ``None`` when it did not parse, so it was not run)."""
    confidence = None if confidence is None else min(max(confidence, 0.0), 1.0)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return FailureAnalysis(
            test_pass_rate=0.0,
            coverage=0.0,
            assertion_quality=0.0,
            llm_confidence=confidence,
            syntax_errors=(f"line {exc.lineno}: {exc.msg}",),
            notes=("the generated tests do not parse, so they were not run",),
        )
    if run is None:
        raise ValueError("a test file that parses must have been run")
    notes = [f"{run.passed}/{len(run.tests)} tests passed", *run.problems]
    return FailureAnalysis(
        test_pass_rate=run.pass_rate,
        coverage=coverage_of(target, run),
        assertion_quality=assertion_quality(tree),
        llm_confidence=confidence,
        notes=tuple(notes),
    )


def _outcomes(run: SandboxRun) -> dict[str, bool]:
    """Per test (``name`` or ``Class::name``, cases of a parametrized test merged): did all of it pass?"""
    outcomes: dict[str, bool] = {}
    for node_id, outcome in run.tests.items():
        name = node_id.split("::", 1)[-1].split("[", 1)[0]
        outcomes[name] = outcomes.get(name, True) and outcome == "passed"
    return outcomes


def _walk_tests(
    body: list[ast.stmt], prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, bool]]:
    """``(qualified name, node, is_class)`` of the test functions and ``Test*`` classes, nested ones too."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield f"{prefix}{node.name}", node, False
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield f"{prefix}{node.name}", node, True
            yield from _walk_tests(node.body, f"{prefix}{node.name}::")


def keep_passing(code: str, run: SandboxRun) -> str | None:
    """``code`` without the tests that did not pass (``None`` when none passed).

    A parametrized test is kept only if every one of its cases passed; a ``Test*`` class (nested ones
    too) left with no tests is dropped. Lines are cut, not regenerated, so the kept file reads as it
    was written.
    """
    passed = _outcomes(run)
    found = list(_walk_tests(ast.parse(code).body))
    tests = {name: node for name, node, is_class in found if not is_class}
    keep = {name for name in tests if passed.get(name, False)}
    if not keep:
        return None
    cut = [_span(node) for name, node in tests.items() if name not in keep]
    empty = [node for name, node, is_class in found if is_class and not any(k.startswith(f"{name}::") for k in keep)]
    cut += [_span(node) for node in empty]
    gone = {line for first, last in cut for line in range(first, last + 1)}  # spans may nest (class, method)
    kept = "".join(text for number, text in enumerate(physical_lines(code), start=1) if number not in gone)
    return kept if kept.endswith("\n") else kept + "\n"


def count_kept(code: str, run: SandboxRun) -> int:
    """How many of ``run``'s passing tests are still in ``code`` (a file :func:`keep_passing` cut)."""
    names = {name for name, _, is_class in _walk_tests(ast.parse(code).body) if not is_class}
    return sum(
        1
        for node_id, outcome in run.tests.items()
        if outcome == "passed" and node_id.split("::", 1)[-1].split("[", 1)[0] in names
    )


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno or node.lineno
