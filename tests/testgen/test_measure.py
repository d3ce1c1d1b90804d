"""The measured signals of a generated test file, and cutting it down to the tests that passed."""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalade.testgen import (
    SandboxRun,
    TestTarget,
    answer_code,
    assertion_quality,
    confidence_in,
    count_kept,
    coverage_of,
    keep_passing,
    measure,
    tampering,
)

FILE = "test_escalade_generated.py"


def _ids(**outcomes: str) -> dict[str, str]:
    """Node ids of the generated file from ``name=outcome`` (``Class__method`` for methods)."""
    return {f"{FILE}::{name.replace('__', '::')}": outcome for name, outcome in outcomes.items()}


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _target(lineno: int = 3, end_lineno: int = 8) -> TestTarget:
    return TestTarget(name="f", kind="function", lineno=lineno, end_lineno=end_lineno, source="def f(): ...\n")


# --- answer_code -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Here you are:\n```python\nx = 1\n```\n# confidence: 0.9\n", "x = 1"),
        ("```py\nx = 1\n```", "x = 1"),
        ("```\nx = 1\n```", "x = 1"),
        ("```python\nimport a\n```\nand\n```python\nx = 1\n```", "import a\n\nx = 1"),
        ("def test_a():\n    assert f() == 1\n", "def test_a():\n    assert f() == 1\n"),
        ("Sorry, I cannot do that.", "Sorry, I cannot do that."),
        ("", ""),
        (None, ""),
    ],
)
def test_answer_code(text: str | None, code: str) -> None:
    """The fenced blocks of an answer are its test file; without a fence the whole text is; no text is no code."""
    assert answer_code(text) == code


# --- confidence_in -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("```python\n...\n```\n# confidence: 0.85", 0.85),
        ("Confidence = 1", 1.0),
        ("CONFIDENCE:0", 0.0),
        ("confidence: 1.0", 1.0),
        ("confidence: 0.", 0.0),
        ("confidence: 0.9 in the prose\n# confidence: 0.1", 0.1),
        ("confidence: 2", None),
        ("confidence: 10", None),
        ("confidence: -0.5", None),
        ("confidence: 85%", None),
        ("confidence: high", None),
        ("I am quite sure.", None),
        ("", None),
        (None, None),
    ],
)
def test_confidence_in(text: str | None, confidence: float | None) -> None:
    """A stated confidence in [0, 1] is read in its usual spellings; anything else is no confidence."""
    assert confidence_in(text) == confidence


@pytest.mark.parametrize("text", ["confidence: 1.5", "# confidence: 1.05"])
def test_confidence_above_one_is_ignored(text: str) -> None:
    """A confidence above 1 is out of range, so it is ignored rather than read as 1."""
    assert confidence_in(text) is None


# --- assertion_quality -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "quality"),
    [
        ("assert f(1) == 2", 0.5),
        ("assert f(1) == 2\nassert f(2) == 4", 1.0),
        ("assert f(1) == 2\nassert f(2) == 4\nassert f(3) == 6", 1.0),
        ("assert f(1)", 0.5),
        ("assert f(1) is None", 0.5),
        ("assert True", 0.0),
        ("assert 1", 0.0),
        ("assert 'text'", 0.0),
        ("assert x == x", 0.0),
        ("assert f(1) == f(1)", 0.0),
        ("assert 1 == 1", 0.0),
        ("assert 'a' in 'abc'", 0.0),
        ("assert x is x", 0.0),
        ("assert True\nassert 1 == 1\nassert f(1) == 2", 0.5),
        ("with pytest.raises(ValueError):\n    f(-1)", 0.5),
        ("with raises(ValueError, match='bad'):\n    f(-1)", 0.5),
        ("with pytest.warns(UserWarning):\n    f(0)", 0.5),
        ("with pytest.deprecated_call():\n    f(0)", 0.5),
        ("with pytest.raises(ValueError), pytest.warns(UserWarning):\n    f(-1)", 1.0),
        ("with pytest.raises(ValueError):\n    assert f(-1) == 0", 1.0),
        ("with open('x') as handle:\n    f(handle)", 0.0),
        ("f(1)", 0.0),
        ("pass", 0.0),
    ],
)
def test_assertion_quality_of_one_test(body: str, quality: float) -> None:
    """Meaningful assertions count up to two; constant or self-comparing asserts count as none."""
    code = "def test_it():\n" + textwrap.indent(body, "    ") + "\n"
    assert assertion_quality(ast.parse(code)) == quality


@pytest.mark.parametrize(
    ("call", "quality"),
    [
        ("self.assertEqual(f(1), 2)", 0.5),
        ("self.assertTrue(f(1))", 0.5),
        ("self.assertIn(1, f())", 0.5),
        ("self.assertRaises(ValueError, f, -1)", 0.5),
        ("self.assertEqual(x, x)", 0.0),
        ("self.assertEqual(f(1), f(1))", 0.0),
        ("self.assertEqual(1, 1)", 0.0),
        ("self.assertTrue(True)", 0.0),
        ("other.assertEqual(f(1), 2)", 0.0),
    ],
)
def test_assertion_quality_of_unittest_calls(call: str, quality: float) -> None:
    """``self.assert*`` calls in a Test class count like asserts, unless their arguments are identical or constant."""
    code = f"class TestF:\n    def test_it(self):\n        {call}\n"
    assert assertion_quality(ast.parse(code)) == quality


def test_assertion_quality_is_the_mean_over_tests() -> None:
    """The score is the mean over module-level and Test-class tests; helpers and other classes do not count."""
    code = _code(
        """
        def helper():
            assert f(0) == 0
            assert f(1) == 2

        def test_full():
            assert f(1) == 2
            assert f(2) == 4

        def test_empty():
            f(1)

        class TestF:
            def setup_method(self):
                assert f(0) == 0

            def test_half(self):
                assert f(3) == 6

        class Helpers:
            def test_not_collected(self):
                assert f(1) == 2
                assert f(2) == 4
        """
    )
    assert assertion_quality(ast.parse(code)) == pytest.approx((1.0 + 0.0 + 0.5) / 3)


@pytest.mark.parametrize(
    "code",
    ["", "import pytest\n", "def helper():\n    assert f() == 1\n", "class Helpers:\n    def test_a(self): ..."],
)
def test_assertion_quality_without_tests_is_zero(code: str) -> None:
    """A file with no test at all has no assertion quality."""
    assert assertion_quality(ast.parse(code)) == 0.0


def test_assert_of_a_tuple_counts_as_none() -> None:
    """``assert (a == b, "message")`` can never fail, so it is not a meaningful assertion."""
    assert assertion_quality(ast.parse("def test_a():\n    assert (f(1) == 2, 'f doubles')\n")) == 0.0


#: Statements a generated test may hold, with how many meaningful assertions each is.
STATEMENTS = {
    "assert f(1) == 2": 1,
    "assert f(1)": 1,
    "assert True": 0,
    "assert x == x": 0,
    "assert 1 == 1": 0,
    "assert x is x": 0,
    "with pytest.raises(ValueError):\n    f(-1)": 1,
    "with pytest.raises(ValueError), pytest.warns(UserWarning):\n    f(-1)": 2,
    "result = f(2)": 0,
}


@given(tests=st.lists(st.lists(st.sampled_from(sorted(STATEMENTS))), max_size=6), in_class=st.booleans())
def test_assertion_quality_is_a_capped_mean(tests: list[list[str]], in_class: bool) -> None:
    """Whatever the tests hold, the score is in [0, 1]: the mean of each test's meaningful asserts, capped at 2."""
    defs = []
    for index, body in enumerate(tests):
        statements = textwrap.indent("\n".join(body) or "pass", "    ")
        defs.append(f"def test_{index}({'self' if in_class else ''}):\n{statements}\n")
    code = "\n".join(defs)
    if in_class:
        code = "class TestF:\n" + textwrap.indent(code or "pass\n", "    ")
    quality = assertion_quality(ast.parse(code))
    assert 0.0 <= quality <= 1.0
    scores = [min(sum(STATEMENTS[s] for s in body), 2) / 2 for body in tests]
    assert quality == pytest.approx(sum(scores) / len(scores) if scores else 0.0)


# --- coverage_of -------------------------------------------------------------------------------------


def test_coverage_counts_only_the_targets_own_lines_and_branches() -> None:
    """Lines and branches outside the target's span (another function, the module's imports) are ignored."""
    run = SandboxRun(
        executed_lines=(1, 3, 4, 5, 20),
        missing_lines=(6, 21),
        executed_branches=((4, 5), (8, -1), (20, 21)),
        missing_branches=((4, 6), (2, 3), (9, 10)),
    )
    # in the span 3-8: lines 3, 4, 5 run and 6 missed; branches (4, 5) and (8, -1) taken, (4, 6) not
    assert coverage_of(_target(3, 8), run) == pytest.approx(5 / 7)


@pytest.mark.parametrize(
    ("run", "coverage"),
    [
        (SandboxRun(), 0.0),
        (SandboxRun(executed_lines=(1, 2, 20), missing_branches=((9, 10),)), 0.0),
        (SandboxRun(missing_lines=(3, 4), missing_branches=((4, 5),)), 0.0),
        (SandboxRun(executed_lines=(3, 4, 8), executed_branches=((4, 5), (4, 8))), 1.0),
        (SandboxRun(executed_lines=(3,), missing_lines=(8,)), 0.5),
    ],
)
def test_coverage_of(run: SandboxRun, coverage: float) -> None:
    """Coverage is (lines run + branches taken) / (lines + branches) of the span; 0 when nothing of it ran."""
    assert coverage_of(_target(3, 8), run) == coverage


# --- measure -----------------------------------------------------------------------------------------


def test_measure_a_file_that_does_not_parse() -> None:
    """A syntax error gives the syntax penalty and no run: only the confidence is left, and the CQS is halved."""
    analysis = measure(_target(), "def test_a(:\n    pass\n", None, confidence=0.8)
    assert analysis.syntax_errors[0].startswith("line 1: ")
    assert (analysis.test_pass_rate, analysis.coverage, analysis.assertion_quality) == (0.0, 0.0, 0.0)
    assert analysis.llm_confidence == 0.8
    assert analysis.notes == ("the generated tests do not parse, so they were not run",)
    assert analysis.cqs == pytest.approx(100 * 0.15 * 0.8 * 0.5)
    assert dataclasses.replace(analysis, syntax_errors=()).cqs == pytest.approx(2 * analysis.cqs)


def test_measure_refuses_a_parsed_file_that_was_not_run() -> None:
    """A file that parses must come with its run: measuring it without one is a programming error."""
    with pytest.raises(ValueError, match="must have been run"):
        measure(_target(), "def test_a():\n    assert f(1) == 2\n", None, confidence=None)


def test_measure_a_run() -> None:
    """The signals come from the run (pass rate, coverage of the span) and the file (assertions)."""
    code = "def test_a():\n    assert f(1) == 2\n    assert f(2) == 4\n\ndef test_b():\n    assert True\n"
    run = SandboxRun(
        tests=_ids(test_a="passed", test_b="failed"),
        executed_lines=(3, 4),
        missing_lines=(5, 6),
        duration_s=2.0,
        collection_errors=("Traceback (most recent call last):\nImportError: no module named 'x'\n",),
    )
    analysis = measure(_target(), code, run, confidence=0.9)
    assert (analysis.test_pass_rate, analysis.coverage, analysis.assertion_quality) == (0.5, 0.5, 0.5)
    assert analysis.llm_confidence == 0.9
    assert analysis.syntax_errors == ()
    assert analysis.notes == ("1/2 test cases passed", "collection error: ImportError")
    assert analysis.cqs == pytest.approx(100 * (0.4 * 0.5 + 0.25 * 0.5 + 0.2 * 0.5 + 0.15 * 0.9))


@pytest.mark.parametrize(
    "untrusted",
    [
        {"timed_out": True, "duration_s": 2.0},
        {"refusals": ("network access (socket.connect)",), "refused_total": 1},
        {"crashed": "the run reported tests or lines that do not exist (its result was tampered with)"},
    ],
)
def test_untrusted_run_counts_as_nothing_passing(untrusted: dict[str, object]) -> None:
    """A run that timed out, was refused something, or lied scores no pass rate and no coverage, and says why."""
    code = "def test_a():\n    assert f(1) == 2\n"
    run = SandboxRun(tests=_ids(test_a="passed"), executed_lines=(3, 4), **untrusted)  # type: ignore[arg-type]
    analysis = measure(_target(), code, run, confidence=0.9)
    assert (analysis.test_pass_rate, analysis.coverage, analysis.assertion_quality) == (0.0, 0.0, 0.5)
    assert analysis.notes[-1] == "the run cannot be trusted, so it counts as no test passing and nothing covered"
    assert analysis.cqs < 75


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("import __main__\ndef test_a():\n    assert __main__\n", "__main__"),
        ("import json\njson.dumps = str\ndef test_a():\n    assert f(1) == 2\n", "json.dumps (replaced)"),
        ("def test_a(monkeypatch):\n    monkeypatch.setattr('os.path.realpath', str)\n", "os.path.realpath (patched)"),
        ("import os\ndef test_a():\n    os._exit(0)\n", "_exit"),
        ("import gc\ndef test_a():\n    gc.get_objects()\n", "gc"),
        ("from _pytest import main\ndef test_a():\n    assert main\n", "_pytest"),
        ("import sys\ndef test_a():\n    sys.modules.clear()\n", "modules"),
    ],
)
def test_tampering_tests_are_not_run(code: str, named: str) -> None:
    """A test file reaching into the measurement's internals is scored without running it, and says what it touched."""
    analysis = measure(_target(), code, None, confidence=0.9)
    assert analysis.test_pass_rate == 0.0
    assert named in analysis.notes[0]
    assert analysis.notes[0].startswith("not run: the tests reach into")


def test_ordinary_tests_do_not_look_like_tampering() -> None:
    """Patching the module under test, tmp_path, parametrize and pytest.raises are all fine."""
    code = (
        "import pytest\nimport shapes\n\n@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_a(n, monkeypatch, tmp_path):\n    monkeypatch.setattr(shapes, 'LIMIT', 3)\n"
        "    (tmp_path / 'x').write_text('y')\n    with pytest.raises(ValueError):\n        shapes.f(-n)\n"
    )
    assert tampering(ast.parse(code)) == []


@pytest.mark.parametrize(("given_", "kept"), [(1.7, 1.0), (-0.2, 0.0), (0.3, 0.3), (None, None)])
def test_measure_clamps_the_confidence(given_: float | None, kept: float | None) -> None:
    """A confidence outside [0, 1] is clamped into it; none stays none."""
    run = SandboxRun(tests=_ids(test_a="passed"))
    assert measure(_target(), "def test_a():\n    pass\n", run, confidence=given_).llm_confidence == kept
    assert measure(_target(), "def test_a(:\n", None, confidence=given_).llm_confidence == kept


def test_measure_a_run_with_no_tests() -> None:
    """A run that collected nothing scores 0 on pass rate, and its notes say so."""
    analysis = measure(_target(), "import pytest\n", SandboxRun(crashed="killed by SIGKILL"), confidence=None)
    assert analysis.test_pass_rate == 0.0
    assert analysis.notes == (
        "0/0 test cases passed",
        "killed by SIGKILL",
        "the run cannot be trusted, so it counts as no test passing and nothing covered",
    )


# --- keep_passing and count_kept ---------------------------------------------------------------------

GENERATED = _code(
    '''
    """Tests of f."""

    import pytest

    from shapes import f


    @pytest.fixture
    def value():
        return 2


    # doubles small numbers
    def test_small(value):
        assert f(value) == 4  # exact


    @pytest.mark.slow
    @pytest.mark.skipif(False, reason="never")
    def test_broken():
        assert f(1) == 3


    @pytest.mark.parametrize("n", [1, 2])
    def test_all_cases_pass(n):
        assert f(n) == 2 * n


    @pytest.mark.parametrize("n", [1, 2])
    def test_one_case_fails(n):
        assert f(n) == 2


    def test_not_collected():
        assert f(0) == 0


    class TestMixed:
        def setup_method(self):
            self.n = 3

        def test_good(self):
            assert f(self.n) == 6

        def test_bad(self):
            assert f(self.n) == 7


    @pytest.mark.usefixtures("value")
    class TestAllFail:
        def test_one(self):
            assert f(1) == 0

        def test_two(self):
            assert f(2) == 0


    def helper(n):
        return n * 2
    '''
)

GENERATED_RUN = SandboxRun(
    tests={
        **_ids(test_small="passed", test_broken="failed"),
        f"{FILE}::test_all_cases_pass[1]": "passed",
        f"{FILE}::test_all_cases_pass[2]": "passed",
        f"{FILE}::test_one_case_fails[1]": "passed",
        f"{FILE}::test_one_case_fails[2]": "failed",
        **_ids(TestMixed__test_good="passed", TestMixed__test_bad="error"),
        **_ids(TestAllFail__test_one="failed", TestAllFail__test_two="skipped"),
    }
)

KEPT = _code(
    '''
    """Tests of f."""

    import pytest

    from shapes import f


    @pytest.fixture
    def value():
        return 2


    # doubles small numbers
    def test_small(value):
        assert f(value) == 4  # exact




    @pytest.mark.parametrize("n", [1, 2])
    def test_all_cases_pass(n):
        assert f(n) == 2 * n






    class TestMixed:
        def setup_method(self):
            self.n = 3

        def test_good(self):
            assert f(self.n) == 6





    def helper(n):
        return n * 2
    '''
)


def test_keep_passing_cuts_what_did_not_pass() -> None:
    """Failing, erroring, skipped and uncollected tests go with their decorators; the rest is kept as written.

    A parametrized test stays only if all its cases passed; a Test class loses its failing methods, and
    goes when none passed. Imports, fixtures, helpers and comments stay.
    """
    kept = keep_passing(GENERATED, GENERATED_RUN)
    assert kept == KEPT
    ast.parse(kept)


def test_count_kept() -> None:
    """count_kept counts the passing test cases still in the file (each parametrized case once)."""
    kept = keep_passing(GENERATED, GENERATED_RUN)
    assert kept is not None
    assert count_kept(kept, GENERATED_RUN) == 4  # test_small, two cases of test_all_cases_pass, TestMixed::test_good
    assert count_kept(GENERATED, GENERATED_RUN) == 5  # the passing case of test_one_case_fails too


@pytest.mark.parametrize(
    "tests",
    [
        {},
        _ids(test_small="failed", test_broken="error"),
        {f"{FILE}::test_all_cases_pass[1]": "skipped"},
        _ids(TestMixed__test_good="failed", other="passed"),
    ],
)
def test_keep_passing_without_a_passing_test_is_none(tests: dict[str, str]) -> None:
    """When no test of the file passed, there is nothing to keep."""
    assert keep_passing(GENERATED, SandboxRun(tests=tests)) is None


def test_keep_passing_keeps_a_file_that_fully_passed() -> None:
    """A file whose tests all passed is kept unchanged."""
    code = "from shapes import f\n\n\ndef test_a():\n    assert f(1) == 2\n"
    run = SandboxRun(tests=_ids(test_a="passed"))
    assert keep_passing(code, run) == code
    assert count_kept(code, run) == 1


def test_keep_passing_after_a_form_feed() -> None:
    """A form feed in the generated file does not shift which lines are cut."""
    code = (
        "def test_a():\n    assert f() == 1\n\x0c\ndef test_b():\n    assert f() == 2\n\ndef test_c():\n    assert 0\n"
    )
    run = SandboxRun(tests=_ids(test_a="passed", test_b="passed", test_c="failed"))
    assert keep_passing(code, run) == "def test_a():\n    assert f() == 1\n\x0c\ndef test_b():\n    assert f() == 2\n\n"


def test_keep_passing_cuts_failing_tests_of_a_nested_class() -> None:
    """A nested Test class whose tests failed is cut like any other failing test."""
    code = _code(
        """
        class TestA:
            def test_x(self):
                assert f() == 1

            class TestB:
                def test_y(self):
                    assert f() == 2
        """
    )
    run = SandboxRun(tests=_ids(TestA__test_x="passed", TestA__TestB__test_y="failed"))
    kept = keep_passing(code, run)
    assert kept is not None
    assert "test_y" not in kept


@dataclass(frozen=True)
class _Test:
    """A generated test: its name, its cases' outcomes (one unless parametrized), and whether it is decorated."""

    name: str
    outcomes: tuple[str, ...]
    parametrized: bool
    decorated: bool

    def source(self, indent: str, method: bool) -> str:
        lines = []
        if self.decorated:
            lines.append("@pytest.mark.slow")
        if self.parametrized:
            lines.append(f"@pytest.mark.parametrize('n', {list(range(len(self.outcomes)))})")
        args = ", ".join(a for a in ("self" if method else "", "n" if self.parametrized else "") if a)
        lines += [f"def {self.name}({args}):", "    # a comment", "    assert f(1) == 2", ""]
        return "".join(f"{indent}{line}\n" if line else "\n" for line in lines)

    def node_ids(self, prefix: str) -> dict[str, str]:
        if not self.parametrized:
            return {f"{prefix}{self.name}": self.outcomes[0]}
        return {f"{prefix}{self.name}[{i}]": outcome for i, outcome in enumerate(self.outcomes)}


OUTCOMES = st.sampled_from(["passed", "passed", "passed", "failed", "error", "skipped"])


@st.composite
def _tests(draw: st.DrawFn, prefix: str) -> list[_Test]:
    count = draw(st.integers(0, 4))
    found = []
    for index in range(count):
        parametrized = draw(st.booleans())
        outcomes = draw(st.lists(OUTCOMES, min_size=2 if parametrized else 1, max_size=3 if parametrized else 1))
        if draw(st.integers(0, 5)) == 0:  # pytest did not collect it (a missing fixture, a shadowed name)
            outcomes = ["uncollected"] * len(outcomes)
        found.append(_Test(f"test_{prefix}{index}", tuple(outcomes), parametrized, draw(st.booleans())))
    return found


@st.composite
def _generated(draw: st.DrawFn) -> tuple[str, SandboxRun, set[str]]:
    """A test file of module-level tests and Test classes, its run, and the tests that fully passed."""
    parts = ["import pytest\n\nfrom shapes import f\n\n\n"]
    tests: dict[str, str] = {}
    passed: set[str] = set()
    for group in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            members = draw(_tests(f"c{group}_"))
            parts.append(f"class TestGroup{group}:\n    value = {group}\n\n")
            parts += [t.source("    ", method=True) for t in members]
            prefix = f"TestGroup{group}::"
        else:
            members = draw(_tests(f"m{group}_"))
            parts += [t.source("", method=False) for t in members]
            prefix = ""
        parts.append(f"\ndef helper_{group}():\n    return {group}\n\n\n")
        for member in members:
            tests |= member.node_ids(f"{FILE}::{prefix}")
            if all(o == "passed" for o in member.outcomes):
                passed.add(f"{prefix}{member.name}")
    collected = {node: outcome for node, outcome in tests.items() if outcome != "uncollected"}
    return "".join(parts), SandboxRun(tests=collected), passed


def _names(tree: ast.Module) -> set[str]:
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")}
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef):
            names |= {f"{cls.name}::{m.name}" for m in cls.body if isinstance(m, ast.FunctionDef)}
    return names


@given(_generated())
def test_keep_passing_keeps_exactly_the_passing_tests(generated: tuple[str, SandboxRun, set[str]]) -> None:
    """Whatever passed, the kept file parses and holds exactly the tests all of whose cases passed, and the helpers."""
    code, run, passed = generated
    kept = keep_passing(code, run)
    reported = {node.split("::", 1)[1].split("[")[0] for node in run.tests}
    if not passed or not reported <= _names(ast.parse(code)):  # a reported test it cannot find: cut nothing
        assert kept is None
        return
    assert kept is not None
    tree = ast.parse(kept)
    assert _names(tree) == passed
    assert {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("helper")} == {
        n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef) and n.name.startswith("helper")
    }
    assert count_kept(kept, run) == sum(
        1
        for node, outcome in run.tests.items()
        if outcome == "passed" and node.split("::", 1)[1].split("[")[0] in passed
    )
    still = {node: outcome for node, outcome in run.tests.items() if node.split("::", 1)[1].split("[")[0] in passed}
    assert keep_passing(kept, SandboxRun(tests=still)) == kept  # cutting again what is left changes nothing


UNITTEST_STYLE = (
    "import unittest\n\nclass AddTests(unittest.TestCase):\n"
    "    def test_good(self):\n        self.assertEqual(f(1), 2)\n\n"
)


@pytest.mark.parametrize(
    ("code", "tests", "expected"),
    [
        pytest.param(
            UNITTEST_STYLE + "    def test_bad(self):\n        self.assertEqual(f(1), 3)\n",
            {"AddTests::test_good": "passed", "AddTests::test_bad": "failed"},
            UNITTEST_STYLE,
            id="unittest-class-of-any-name",
        ),
        pytest.param(
            "def check(n):\n    assert f(n) == 3\n\ntest_alias = check\n\ndef test_good():\n    assert f(1) == 2\n",
            {"test_alias": "failed", "test_good": "passed"},
            None,
            id="alias-cannot-be-cut",
        ),
        pytest.param(
            "def test_a():\n    assert f(1) == 2\n\ndef test_a():\n    assert f(2) == 4\n",
            {"test_a": "passed"},
            "\ndef test_a():\n    assert f(2) == 4\n",
            id="shadowed-definition-dropped",
        ),
    ],
)
def test_keep_passing_finds_tests_by_node_id(code: str, tests: dict[str, str], expected: str | None) -> None:
    """Every reported test is located by its node id; what cannot be located safely keeps nothing."""
    run = SandboxRun(tests={f"{FILE}::{name}": outcome for name, outcome in tests.items()})
    assert keep_passing(code, run) == expected
