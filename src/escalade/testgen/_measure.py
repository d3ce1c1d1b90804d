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

from escalade.quality import FailureAnalysis, extract_code
from escalade.testgen._sandbox import SandboxRun
from escalade.testgen._targets import TestTarget, physical_lines

__all__ = [
    "answer_code",
    "assertion_quality",
    "confidence_in",
    "count_kept",
    "coverage_of",
    "keep_passing",
    "measure",
    "tampering",
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
    """The confidence the model stated (``confidence: 0.8``; the last one, as asked after the code), if it did."""
    found = _CONFIDENCE.findall(text or "")
    return float(found[-1]) if found else None


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
    """The signals of ``code``; ``run`` is ``None`` when it was not run (it did not parse, or it tampers).

    A run that cannot be trusted (it was refused something, timed out, crashed, or reported what
    cannot be true) scores no pass rate and no coverage: its tests are neither believed nor kept.
    """
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
    found = tampering(tree)
    if found:
        why = f"not run: the tests reach into {', '.join(found)}, which could fake their own results"
        return FailureAnalysis(
            test_pass_rate=0.0, coverage=0.0, assertion_quality=0.0, llm_confidence=confidence, notes=(why,)
        )
    if run is None:
        raise ValueError("a test file that parses and does not tamper must have been run")
    notes = [f"{run.passed}/{len(run.tests)} test cases passed", *run.problems]
    if not run.trusted:
        notes.append("the run cannot be trusted, so it counts as no test passing and nothing covered")
    return FailureAnalysis(
        test_pass_rate=run.pass_rate if run.trusted else 0.0,
        coverage=coverage_of(target, run) if run.trusted else 0.0,
        assertion_quality=assertion_quality(tree),
        llm_confidence=confidence,
        notes=tuple(notes),
    )


#: Modules and names a test has no business touching: reaching them could fake the measurement.
_INTERNALS = frozenset(
    {
        "__main__", "gc", "_pytest", "pluggy", "coverage", "ctypes", "_posixsubprocess", "importlib", "builtins",
        "__builtins__", "__closure__", "__globals__", "__code__", "pluginmanager", "settrace", "setprofile",
        "addaudithook", "_exit", "modules", "_getframe", "f_back", "f_locals", "f_globals", "tb_frame", "gi_frame",
        "cr_frame", "dup", "dup2", "closerange", "fdopen", "get_referrers", "get_objects", "stdin",
    }
)  # fmt: skip
#: Modules whose attributes a test must not replace (the sandbox and the measurement rely on them).
_PROTECTED = frozenset({"json", "os", "sys", "io", "builtins", "pytest", "socket", "signal", "resource", "pathlib"})


def tampering(tree: ast.Module) -> list[str]:
    """What in a test file could tamper with the run's measurement: internals it names, modules it patches."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            found += [m for m in modules if m.split(".")[0] in _INTERNALS]
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in _INTERNALS:
                found.append(name)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            found += [f"{_dotted(t)} (replaced)" for t in targets if _patches_protected(t)]
        elif isinstance(node, ast.Call) and _patches_by_call(node):
            found.append(f"{_dotted(node.args[0])} (patched)")
    return sorted(set(found))


def _patches_by_call(call: ast.Call) -> bool:
    """``setattr(json, ...)``, ``monkeypatch.setattr("os.path.realpath", ...)`` and the like."""
    if not (_call_named(call, {"setattr", "delattr"}) and call.args):
        return False
    return _root_name(call.args[0]) in _PROTECTED or _string_target(call.args[0])


def _patches_protected(target: ast.expr) -> bool:
    return isinstance(target, ast.Attribute) and _root_name(target) in _PROTECTED


def _root_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _string_target(node: ast.expr) -> bool:
    """``monkeypatch.setattr("json.dumps", ...)``: a dotted string naming a protected module."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.split(".")[0] in _PROTECTED


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "?")
    return ".".join(reversed(parts))


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
        elif isinstance(node, ast.ClassDef):  # ``Test*`` classes, and ``unittest.TestCase`` ones of any name
            yield f"{prefix}{node.name}", node, True
            yield from _walk_tests(node.body, f"{prefix}{node.name}::")


def _definitions(
    body: list[ast.stmt], prefix: str = ""
) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]]:
    """Every function and class by qualified name (``f``, ``TestA::test_b``), all definitions of a name in order."""
    found: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.setdefault(prefix + node.name, []).append(node)
        if isinstance(node, ast.ClassDef):
            for name, nodes in _definitions(node.body, f"{prefix}{node.name}::").items():
                found.setdefault(name, []).extend(nodes)
    return found


def keep_passing(code: str, run: SandboxRun) -> str | None:
    """``code`` without the tests that did not pass (``None`` when none passed, or it cannot be cut safely).

    Each test pytest reported is found by its node id. A parametrized test is kept only if every one
    of its cases passed; a test that never ran, or an earlier definition shadowed by a later one of
    the same name, is dropped; a class whose tests all failed goes. A reported test that cannot be found in
    the file (an alias, say) means the file cannot be cut safely, so nothing of it is kept. Lines are
    cut, not regenerated, so the kept file reads as it was written.
    """
    passed = _outcomes(run)
    defs = _definitions(ast.parse(code).body)
    if not any(passed.values()) or any(name not in defs for name in passed):
        return None
    keep = {name for name, ok in passed.items() if ok}
    cut = [_span(node) for nodes in defs.values() for node in nodes[:-1]]  # shadowed: never ran
    tests = [name for name in defs if name.rsplit("::", 1)[-1].startswith("test")]
    cut += [_span(defs[name][-1]) for name in tests if name not in keep]  # failed, or never ran
    holders = {name.rsplit("::", 1)[0] for name in passed if "::" in name}
    cut += [_span(defs[c][-1]) for c in holders if c in defs and not any(k.startswith(f"{c}::") for k in keep)]
    gone = {line for first, last in cut for line in range(first, last + 1)}  # spans may nest (class, method)
    kept = "".join(text for number, text in enumerate(physical_lines(code), start=1) if number not in gone)
    return kept if kept.endswith("\n") else kept + "\n"


def count_kept(code: str, run: SandboxRun) -> int:
    """How many of ``run``'s passing test cases are still in ``code`` (a file :func:`keep_passing` cut)."""
    names = set(_definitions(ast.parse(code).body))
    return sum(
        1
        for node_id, outcome in run.tests.items()
        if outcome == "passed" and node_id.split("::", 1)[-1].split("[", 1)[0] in names
    )


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno or node.lineno
