"""Context analysis of real Python files: complexity, coupling, size, levels; broken files are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.codebase import analyze_file
from escalade.ladder import Ladder
from escalade.routing import ContextAnalyzer, Level, Router, Task, TriggerDetector

SRC = Path(__file__).resolve().parents[2] / "src"

BRANCHY = """
def grade(score, curve, late):
    if score is None:
        return "absent"
    for bonus in curve:
        if bonus > 0 and score + bonus > 100:
            score = 100
        elif bonus < 0 or late:
            score -= 1
    while score > 90:
        score -= 5
    return "A" if score > 80 else "B"


class Report:
    def render(self, rows):
        return [r for r in rows if r]
"""


def test_cyclomatic_complexity_per_function() -> None:
    """radon's McCabe count per function and method, with line numbers and source lines."""
    analysis = analyze_file("grades.py", BRANCHY)
    by_name = {f.name: f for f in analysis.functions}
    # 1 + if + for + if(and) + elif(or) + while + ternary = 1 + 1 + 1 + 2 + 2 + 1 + 1 = 9
    assert by_name["grade"].complexity == 9
    assert by_name["Report.render"].complexity == 3
    assert by_name["grade"].lineno == 2
    assert analysis.max_complexity == 9
    assert analysis.sloc == 14


def test_real_package_files_and_internal_coupling() -> None:
    """escalade's own modules: imports are found, and imports between analysed files are coupling."""
    files = ("escalade/ladder/_tiers.py", "escalade/ladder/_config.py", "escalade/exceptions.py")
    analysis = ContextAnalyzer(root=SRC).analyze(Task("Tidy up", files=files))
    assert [f.path for f in analysis.files] == list(files)
    config = next(f for f in analysis.files if f.path.endswith("_config.py"))
    assert "escalade" in config.imports
    assert config.max_complexity >= 5
    assert analysis.unparseable == ()
    assert analysis.complexity.basis["files"] == 3.0
    assert analysis.complexity.basis["sloc"] > 300


def test_broken_and_missing_files_are_reported_not_fatal(tmp_path: Path) -> None:
    """A file that does not parse, has null bytes or is missing is listed with the reason; risk is at least high."""
    (tmp_path / "ok.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    task = Task("Tidy up", files=("ok.py", "broken.py", "nul.py", "gone.py", "notes.md"))
    analysis = ContextAnalyzer(root=tmp_path).analyze(task)
    assert [f.path for f in analysis.files] == ["ok.py"]
    reasons = dict(analysis.unparseable)
    assert set(reasons) == {"broken.py", "nul.py", "gone.py"}
    assert "does not parse" in reasons["broken.py"]
    assert "cannot read" in reasons["gone.py"]
    assert analysis.risk.level >= Level.HIGH
    assert analysis.risk.basis["unparseable_files"] == 3.0


@pytest.mark.parametrize(
    ("source", "level"),
    [
        ("def f():\n    return 1\n", Level.LOW),
        (BRANCHY, Level.LOW),  # rank B: one point
        ("def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(25)), Level.HIGH),
    ],
)
def test_complexity_levels(source: str, level: Level) -> None:
    """The worst function's radon rank drives the complexity level."""
    analysis = ContextAnalyzer().analyze(Task("x", files=("m.py",), file_contents={"m.py": source}))
    assert analysis.complexity.level == level


def test_business_impact_and_risk_combine() -> None:
    """A payment file of medium complexity is high risk: both levels at least medium raise risk one step."""
    source = "def pay(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    task = Task("Tidy up the payments module", files=("payments.py",), file_contents={"payments.py": source})
    triggers = TriggerDetector().detect(task)
    analysis = ContextAnalyzer().analyze(task, triggers)
    assert analysis.complexity.level == Level.MEDIUM
    assert analysis.business_impact.level == Level.CRITICAL
    assert analysis.risk.level == Level.CRITICAL


def test_router_escalates_on_context_risk() -> None:
    """Critical risk from analysed files starts the task on the top tier, and says why with numbers."""
    source = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(45))
    task = Task("Tidy up", files=("m.py",), file_contents={"m.py": source})
    decision = Router(Ladder.default()).route(task)
    assert decision.analysis is not None
    assert decision.analysis.complexity.basis["max_cyclomatic_complexity"] == 46
    assert decision.tier == "capable"  # complexity 4 points: high risk, the middle tier
    assert "high risk from context analysis" in decision.reasons[-1]


def test_source_nested_past_the_parser_is_unparseable_not_an_error() -> None:
    """``1+1+...`` and ``----1`` overflow the parser (RecursionError, MemoryError): the file is reported, not raised."""
    contents = {"deep.py": "x = " + "1+" * 100_000 + "1", "neg.py": "x = " + "-" * 200_000 + "1"}
    analysis = ContextAnalyzer().analyze(Task(description="x", files=tuple(contents), file_contents=contents))
    assert {path for path, _ in analysis.unparseable} == set(contents)
