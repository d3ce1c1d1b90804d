"""ProgressiveTestGenWorkflow on the example: measured CQS decides who climbs, and the kept tests pass."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from escalade.cascade import TeamContext, TeamOutcome
from escalade.exceptions import BudgetExceededError, ConfigError, SandboxError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import Completion, CompletionRequest
from escalade.store import SqlStore
from escalade.testgen import (
    ProgressiveTestGenWorkflow,
    RecordedAnswers,
    Sandbox,
    TestGenResult,
    check_out_dir,
    sandbox_notes,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProgressiveTestGenWorkflow, TestGenResult, Path]:
    """The example run once: calculator.py with its recorded answers, kept tests in a fresh folder."""
    out = tmp_path_factory.mktemp("kept")
    workflow = ProgressiveTestGenWorkflow(
        EscalationConfig(auto_approve_under=None), RecordedAnswers.from_file(EXAMPLES / "calculator_answers.json")
    )
    result = workflow.execute(target_file=EXAMPLES / "calculator.py", out_dir=out)
    return workflow, result, out


def test_items_climb_exactly_when_their_measured_cqs_is_low(
    run: tuple[ProgressiveTestGenWorkflow, TestGenResult, Path],
) -> None:
    """An item leaves a tier if and only if every attempt there measured a CQS below the tier's threshold."""
    workflow, result, _ = run
    thresholds = {t.name: t.threshold for t in workflow.config.tiers}
    for item in result.items:
        for tier in item.tiers:
            scores = [a.cqs for a in tier.attempts if a.cqs is not None]
            assert scores, (item.item_id, tier.tier)
            assert tier.escalated == all(s < thresholds[tier.tier] for s in scores), (item.item_id, tier.tier, scores)
    path = {i.item_id: [t.tier for t in i.tiers] for i in result.items}
    assert path == {
        "add": ["cheap"],
        "divide": ["cheap", "capable"],
        "parse_number": ["cheap", "capable", "premium"],
        "mean": ["cheap"],
        "percentage": ["cheap"],
        "Calculator": ["cheap", "capable"],
    }
    assert result.status == "completed"
    assert {i.status for i in result.items} == {"accepted"}


def test_signals_come_from_running_the_tests(run: tuple[ProgressiveTestGenWorkflow, TestGenResult, Path]) -> None:
    """Broken syntax halves the score, wrong expectations fail, weak assertions score nothing, coverage is real."""
    workflow, _, _ = run
    broken = workflow.measurement("parse_number", "cheap", 1)
    assert broken is not None
    assert broken.run is None
    assert broken.analysis.syntax_errors
    wrong = workflow.measurement("divide", "cheap", 2)
    assert wrong is not None
    assert wrong.run is not None
    assert wrong.analysis.test_pass_rate == 0.0
    weak = workflow.measurement("divide", "cheap", 1)
    assert weak is not None
    assert weak.analysis.assertion_quality == 0.0
    assert weak.analysis.test_pass_rate == 1.0
    assert weak.analysis.coverage is not None
    assert 0.0 < weak.analysis.coverage < 1.0  # the zero-divisor branch never ran
    good = workflow.measurement("divide", "capable", 1)
    assert good is not None
    assert (good.analysis.test_pass_rate, good.analysis.coverage, good.analysis.assertion_quality) == (1.0, 1.0, 1.0)


def test_kept_tests_pass_under_plain_pytest(
    run: tuple[ProgressiveTestGenWorkflow, TestGenResult, Path], tmp_path: Path
) -> None:
    """The kept files, with their conftest, pass when pytest runs them from anywhere."""
    _, result, out = run
    assert {k.item_id for k in result.kept} == {i.item_id for i in result.items}
    assert all(k.kept == k.total for k in result.kept)
    assert (out / "conftest.py").exists()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(out), "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{sum(k.kept for k in result.kept)} passed" in done.stdout


def test_report_shows_each_tier(run: tuple[ProgressiveTestGenWorkflow, TestGenResult, Path]) -> None:
    """The report gives each item's CQS per tier and why it climbed, like the seed's example."""
    _, result, _ = run
    report = result.generate_report()
    assert "parse_number:\n  cheap: CQS=6.4 (gpt-4o-mini), 68.5 (gpt-4.1-nano)\n    → Escalated: low CQS" in report
    assert "  premium: CQS=98.5 (gpt-4.1)" in report
    assert result.cost_savings_percent is not None
    assert result.cost_savings_percent > 0
    assert result.to_dict()["target_file"].endswith("calculator.py")


def test_sandbox_notes_before_and_after_a_run_agree(
    run: tuple[ProgressiveTestGenWorkflow, TestGenResult, Path],
) -> None:
    """The notes said before a run (from the probe, as the CLI stores them) are those its runs report after it."""
    workflow, result, _ = run
    before = sandbox_notes(workflow.sandbox.isolation(), workflow.sandbox.missing_isolation())
    assert before
    assert before[0].startswith("sandbox: ")
    assert [n for n in result.notes if n.startswith("sandbox")] == list(before)


def test_stopped_run_keeps_what_finished(tmp_path: Path) -> None:
    """A run the budget stops still writes the passing tests of the items it finished."""
    answers = RecordedAnswers.from_file(EXAMPLES / "calculator_answers.json")
    config = EscalationConfig(auto_approve_under=None, max_cost=0.0002, max_concurrency=1)
    with pytest.raises(BudgetExceededError) as stopped:
        ProgressiveTestGenWorkflow(config, answers).execute(target_file=EXAMPLES / "calculator.py", out_dir=tmp_path)
    partial = stopped.value.partial_result
    assert isinstance(partial, TestGenResult)
    assert partial.status == "aborted"
    assert [k.item_id for k in partial.kept] == ["add"]
    assert (tmp_path / "test_calculator_add.py").exists()


class OneAgentEverywhere(ProgressiveTestGenWorkflow):
    """A custom tier implementation: a single agent on every tier, whatever the team size."""

    async def _execute_tier_impl(self, tier: Tier, context: TeamContext) -> TeamOutcome:
        answer = await context.call(context.request("agent", context.prompt))
        return TeamOutcome(final=answer, calls=(answer,))


def test_custom_tier_implementation_is_used(tmp_path: Path) -> None:
    """A subclass's _execute_tier_impl replaces the default teams: one call per attempt, even for a team of 3."""
    target = tmp_path / "doubling.py"
    target.write_text("def double(x):\n    return 2 * x\n", encoding="utf-8")
    tests = "```python\nfrom doubling import double\n\ndef test_double():\n    assert double(2) == 4\n```\n"
    answers = RecordedAnswers({"double": {"gpt-4o-mini": tests}})
    tier = Tier(name="premium", rank=0, models=("gpt-4o-mini",), threshold=50, team_size=3)
    config = EscalationConfig(tiers=Ladder([tier]), auto_approve_under=None)
    result = OneAgentEverywhere(config, answers).execute(target_file=target)
    assert [a.calls for a in result.tier_results[0].attempts] == [1]
    assert result.items[0].status == "accepted"
    assert result.kept == ()  # no out_dir: nothing written


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "takes target_file"),
        ({"items": [], "target_file": "x.py"}, "not items"),
        ({"target_file": str(EXAMPLES / "calculator.py"), "extra": 1}, "not items"),
    ],
)
def test_execute_checks_its_inputs(kwargs: dict[str, object], message: str) -> None:
    """execute() wants a target file, nothing else."""
    workflow = ProgressiveTestGenWorkflow(EscalationConfig(), RecordedAnswers({"x": {"m": "y"}}))
    with pytest.raises(ConfigError, match=message):
        workflow.execute(**kwargs)  # type: ignore[arg-type]


def test_a_provider_is_needed() -> None:
    """Without a provider there is nobody to write the tests: a clear error."""
    with pytest.raises(ConfigError, match="needs a provider"):
        ProgressiveTestGenWorkflow(EscalationConfig()).execute(target_file=EXAMPLES / "calculator.py")


def _tiny(tmp_path: Path, answers: dict[str, str], source: str = "def double(x):\n    return 2 * x\n") -> Path:
    target = tmp_path / "doubling.py"
    target.write_text(source, encoding="utf-8")
    return target


def _one_tier(models: tuple[str, ...] = ("gpt-4o-mini",), threshold: float = 75) -> EscalationConfig:
    tiers = Ladder([Tier(name="cheap", rank=0, models=models, threshold=threshold, min_attempts=len(models))])
    return EscalationConfig(tiers=tiers, auto_approve_under=None)


def _fenced(code: str) -> str:
    fence = "`" * 3
    return f"{fence}python\n{code}{fence}\n# confidence: 0.9\n"


def test_out_folder_with_files_is_refused_before_spending(tmp_path: Path) -> None:
    """An output folder that holds anything (the user's own conftest, say) is refused before any call."""
    out = tmp_path / "kept"
    out.mkdir()
    (out / "conftest.py").write_text("# mine\n", encoding="utf-8")
    answers = RecordedAnswers({"double": {"gpt-4o-mini": _fenced("def test_a():\n    assert True\n")}})
    with pytest.raises(ConfigError, match="is not an empty folder"):
        ProgressiveTestGenWorkflow(_one_tier(), answers).execute(target_file=_tiny(tmp_path, {}), out_dir=out)
    assert (out / "conftest.py").read_text(encoding="utf-8") == "# mine\n"


def test_refused_attempt_climbs_and_is_not_kept(tmp_path: Path) -> None:
    """Tests that try something the sandbox refuses are worth nothing, even if they pass; the next model's are kept."""
    risky = _fenced(
        "import os\nfrom doubling import double\n\ndef test_a():\n    try:\n        os.remove('/etc/hostname')\n"
        "    except OSError:\n        pass\n    assert double(2) == 4\n    assert double(0) == 0\n"
    )
    safe = _fenced(
        "from doubling import double\n\ndef test_a():\n    assert double(2) == 4\n    assert double(-1) == -2\n"
    )
    answers = RecordedAnswers({"double": {"gpt-4o-mini": risky, "gpt-4.1-nano": safe}})
    workflow = ProgressiveTestGenWorkflow(_one_tier(("gpt-4o-mini", "gpt-4.1-nano")), answers)
    result = workflow.execute(target_file=_tiny(tmp_path, {}), out_dir=tmp_path / "kept")
    first = workflow.measurement("double", "cheap", 1)
    assert first is not None
    assert first.run is not None
    assert first.run.refusals
    assert first.analysis.test_pass_rate == 0.0
    assert result.items[0].final_model == "gpt-4.1-nano"
    assert [k.model for k in result.kept] == ["gpt-4.1-nano"]


RISKY = (
    "import os\nfrom doubling import double\n\ndef test_a():\n    try:\n        os.remove('/etc/hostname')\n"
    "    except OSError:\n        pass\n    assert double(2) == 4\n"
)


def test_run_whose_every_sandbox_run_is_untrusted_is_failed(tmp_path: Path, db_url: str) -> None:
    """Tests that ran untrusted are no answer: failed attempts of their own cause, item unanswered, run failed."""
    answers = RecordedAnswers({"double": {"gpt-4o-mini": _fenced(RISKY), "gpt-4.1-nano": _fenced(RISKY)}})
    store = SqlStore(db_url)
    workflow = ProgressiveTestGenWorkflow(
        _one_tier(("gpt-4o-mini", "gpt-4.1-nano"), threshold=0), answers, listeners=[store]
    )
    result = workflow.execute(target_file=_tiny(tmp_path, {}), out_dir=tmp_path / "kept")
    assert result.status == "failed"
    item = result.items[0]
    assert (item.status, item.final_answer) == ("unanswered", None)
    assert item.error is not None
    assert "not trusted" in item.error
    attempts = item.tiers[0].attempts
    assert [(a.model, a.cqs, a.error_cause) for a in attempts] == [
        ("gpt-4o-mini", None, "untrusted sandbox run"),  # even a bar of 0 accepts no untrusted answer
        ("gpt-4.1-nano", None, "untrusted sandbox run"),
    ]
    assert all(a.error is not None and "refused: " in a.error for a in attempts)
    assert (result.kept, result.untrusted_runs) == ((), 2)
    assert result.error_counts == {"untrusted sandbox run": 2}
    assert result.premium_baseline_cost == 0.0  # nothing answered, nothing saved
    stored = store.get_run(result.run_id)
    assert (stored.status, stored.items_answered) == ("failed", 0)
    assert stored.error_counts == result.error_counts
    store.close()


def test_items_differing_only_in_case_get_their_own_files(tmp_path: Path) -> None:
    """``shape`` and ``Shape`` are two items: each keeps its own file."""
    source = "def shape():\n    return 1\n\n\nclass Shape:\n    sides = 4\n"
    answers = RecordedAnswers(
        {
            "shape": {"gpt-4o-mini": _fenced("from doubling import shape\n\ndef test_a():\n    assert shape() == 1\n")},
            "Shape": {
                "gpt-4o-mini": _fenced("from doubling import Shape\n\ndef test_a():\n    assert Shape().sides == 4\n")
            },
        }
    )
    out = tmp_path / "kept"
    result = ProgressiveTestGenWorkflow(_one_tier(threshold=0), answers).execute(
        target_file=_tiny(tmp_path, {}, source), out_dir=out
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "conftest.py",
        "test_doubling_shape.py",
        "test_doubling_shape_2.py",
    ]
    assert len({k.path for k in result.kept}) == 2


def test_broken_sandbox_stops_the_run(tmp_path: Path) -> None:
    """A sandbox that cannot run tests stops the whole run at the first item instead of charging every tier."""
    answers = RecordedAnswers({"double": {"gpt-4o-mini": _fenced("def test_a():\n    assert True\n")}})
    workflow = ProgressiveTestGenWorkflow(_one_tier(), answers, sandbox=Sandbox(python="/bin/false", isolate=False))
    with pytest.raises(SandboxError) as stopped:
        workflow.execute(target_file=_tiny(tmp_path, {}))
    partial = stopped.value.partial_result
    assert isinstance(partial, TestGenResult)
    assert partial.status == "aborted"


def test_one_workflow_runs_one_generation_at_a_time(tmp_path: Path) -> None:
    """A second generation on a busy workflow is refused clearly; once the first ends the workflow is free again."""
    answers = RecordedAnswers(
        {
            "double": {
                "gpt-4o-mini": _fenced("from doubling import double\n\ndef test_a():\n    assert double(2) == 4\n")
            }
        }
    )
    workflow = ProgressiveTestGenWorkflow(_one_tier(threshold=0), answers)
    target = _tiny(tmp_path, {})

    async def both() -> tuple[TestGenResult | BaseException, TestGenResult | BaseException]:
        return await asyncio.gather(
            workflow.execute_async(target_file=target),
            workflow.execute_async(target_file=target),
            return_exceptions=True,
        )

    first, second = asyncio.run(both())
    assert isinstance(first, TestGenResult)
    assert isinstance(second, ConfigError)
    assert "already generating tests" in str(second)
    assert workflow.execute(target_file=target).items[0].final_model == "gpt-4o-mini"


def test_attacks_are_worth_nothing_and_leave_nothing(tmp_path: Path) -> None:
    """Answers that reach a socket from C, read outside, or spawn unseen are scored as nothing and never kept."""
    folder = tmp_path / "sock"
    folder.mkdir()
    target = _tiny(tmp_path, {})
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n", encoding="utf-8")
    passing = "from doubling import double\n\ndef test_a():\n    assert double(2) == 4\n    assert double(0) == 0\n"
    attacks = {
        "gpt-4o-mini": "import psycopg\n"
        + passing
        + f"\ntry:\n    psycopg.connect('host={folder} port=1')\nexcept Exception:\n    pass\n",
        "gpt-4.1-nano": passing + f"\nSTOLEN = open({str(tmp_path / 'key.pem')!r}).read()\n",
        "gpt-4.1-mini": passing + "\n_ = __import__('_posix' + 'subprocess').fork_exec\nimport os\nr, w = os.pipe()\n"
        "_([b'/bin/sh'], [b'/bin/sh'], True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w,"
        " False, False, -1, None, None, None, -1, None, False)\n",
    }
    answers = RecordedAnswers({"double": {m: _fenced(code) for m, code in attacks.items()}})
    config = _one_tier(tuple(attacks), threshold=50).replace(stagnation_window=len(attacks) + 1)  # try every one
    workflow = ProgressiveTestGenWorkflow(config, answers)
    result = workflow.execute(target_file=target, out_dir=tmp_path / "kept")
    for attempt, _model in enumerate(attacks, start=1):
        measured = workflow.measurement("double", "cheap", attempt)
        assert measured is not None
        assert measured.run is not None
        assert not measured.run.trusted
        assert measured.analysis.test_pass_rate == 0.0
    assert result.kept == ()
    assert not (tmp_path / "kept").exists()  # not even a conftest.py
    notes = " ".join(n for t in result.tier_results for a in t.attempts if a.analysis for n in a.analysis.notes)
    assert "SIGSYS" in notes
    assert "refused: reading" in notes
    assert "MIIEvQIBADANBg" not in notes


def test_a_stopped_run_that_kept_nothing_leaves_the_folder_usable(tmp_path: Path) -> None:
    """A run stopped before anything was kept writes no conftest.py, so the same --out works next time."""
    answers = RecordedAnswers.from_file(EXAMPLES / "calculator_answers.json")
    config = EscalationConfig(auto_approve_under=None, max_cost=0.00001, max_concurrency=1)
    out = tmp_path / "kept"
    with pytest.raises(BudgetExceededError) as stopped:
        ProgressiveTestGenWorkflow(config, answers).execute(target_file=EXAMPLES / "calculator.py", out_dir=out)
    assert isinstance(stopped.value.partial_result, TestGenResult)
    assert stopped.value.partial_result.kept == ()
    assert not out.exists() or list(out.iterdir()) == []
    check_out_dir(out)  # the next run may use it


@pytest.mark.usefixtures("unknown_architecture")
def test_weak_isolation_stops_before_anything_is_spent(tmp_path: Path) -> None:
    """On a machine that cannot isolate the tests as required, no model is asked."""
    asked: list[str] = []

    class Counting(RecordedAnswers):
        async def complete(self, request: CompletionRequest) -> Completion:
            asked.append(request.model)
            return await super().complete(request)

    answers = Counting({"double": {"gpt-4o-mini": _fenced("def test_a():\n    assert True\n")}})
    with pytest.raises(SandboxError, match="cannot be isolated on this machine"):
        ProgressiveTestGenWorkflow(_one_tier(), answers).execute(target_file=_tiny(tmp_path, {}))
    assert asked == []
