"""The seeds' public names work as thin aliases over today's API: each seed snippet runs as written.

Seed 000 (progressive tier escalation) and seed 003 (the AutonomyController issue) are the documents
escalade was started from (``../shared/seeds``); the README's "Seed names" table maps each name.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from escalade import (
    AutonomyController,
    ConfigError,
    EscalationConfig,
    EscalationEngine,
    FailureAnalysis,
    Ladder,
    ProgressiveTelemetry,
    ProgressiveWorkflow,
    ScriptedProvider,
    SqlStore,
    StoreError,
    Tier,
    WorkItem,
    generate_cost_analytics,
)
from escalade.autonomy import (
    DecisionContext,
    DecisionType,
    MemoryAutonomyStore,
    Outcome,
    parse_decision,
)
from escalade.cascade import TeamContext, TeamOutcome
from escalade.cascade import _results as results
from escalade.cli import app
from escalade.quality import PredicateContext, ScoringContext
from escalade.reporting import hash_user_id
from tests.conftest import MakeDataset

#: The default ladder whose cheap tier states 4 attempts.
FOUR_CHEAP_ATTEMPTS = Ladder.default().replace_tier(Tier(name="cheap", rank=0, min_attempts=4))

# -- seed 000: EscalationConfig and Tier ---------------------------------------------------------------


def test_quick_start_config() -> None:
    """Seed 000's quick-start config: a list of the named tiers becomes the default ladder."""
    config = EscalationConfig(
        enabled=True,
        tiers=[Tier.CHEAP, Tier.CAPABLE, Tier.PREMIUM],  # type: ignore[arg-type]  # a list, as the seed writes
        max_cost=10.00,
        auto_approve_under=1.00,
        abort_on_budget_exceeded=True,
    )
    assert config.tiers == Ladder.default()
    assert config == EscalationConfig()


def test_core_components_config() -> None:
    """Seed 000's "EscalationConfig" snippet: ``cheap_min_attempts``/``capable_min_attempts`` set the tiers."""
    config = EscalationConfig(
        enabled=True,  # Enable progressive escalation
        tiers=[Tier.CHEAP, Tier.CAPABLE, Tier.PREMIUM],  # type: ignore[arg-type]  # a list, as the seed writes
        cheap_min_attempts=2,  # Try cheap tier 2× before escalating
        capable_min_attempts=1,  # Try capable tier 1× before escalating
        max_cost=10.00,  # Abort if cost exceeds $10
        auto_approve_under=1.00,  # Auto-approve costs < $1
        abort_on_budget_exceeded=True,  # Abort vs warn on budget exceeded
        warn_on_budget_exceeded=False,
        stagnation_threshold=0.05,  # 5% improvement threshold
        stagnation_window=2,  # Over 2 consecutive runs
    )
    assert [t.min_attempts for t in config.tiers] == [2, 1, 1]
    assert config == EscalationConfig()


def test_troubleshooting_configs() -> None:
    """Seed 000's troubleshooting snippets: thresholds, stagnation, attempts and budgets, as written."""
    # Lower CQS thresholds
    config = EscalationConfig(
        cheap_cqs_threshold=70,  # Down from 75
        capable_cqs_threshold=80,  # Down from 85
    )
    assert [t.threshold for t in config.tiers] == [70.0, 80.0, 90.0]

    # Increase stagnation threshold
    config = EscalationConfig(
        stagnation_threshold=0.10,  # 10% improvement required
        stagnation_window=3,  # Over 3 runs
    )
    assert (config.stagnation_threshold, config.stagnation_window) == (0.10, 3)

    # Increase min attempts
    config = EscalationConfig(
        cheap_min_attempts=3,  # Try 3× before escalating
        capable_min_attempts=2,
    )
    assert [t.min_attempts for t in config.tiers] == [3, 2, 1]

    # Increase budget / warn instead of abort / increase auto-approve threshold
    assert EscalationConfig(max_cost=20.00).max_cost == 20.0
    config = EscalationConfig(abort_on_budget_exceeded=False, warn_on_budget_exceeded=True)
    assert (config.abort_on_budget_exceeded, config.warn_on_budget_exceeded) == (False, True)
    assert EscalationConfig(auto_approve_under=5.00).auto_approve_under == 5.0

    # Force premium tier for critical tasks
    config = EscalationConfig(
        tiers=[Tier.PREMIUM],  # type: ignore[arg-type]  # Skip cheap/capable
        enabled=False,  # Disable escalation
    )
    assert (config.tiers.names, config.enabled) == (("premium",), False)

    # Increase premium min attempts
    config = EscalationConfig(premium_min_attempts=2)
    assert config.tiers["premium"].min_attempts == 2


def test_seed_keywords_are_not_stored() -> None:
    """The keywords only set the ladder: the config's fields, repr and TOML layout are today's."""
    config = EscalationConfig(cheap_min_attempts=3, premium_cqs_threshold=95)
    assert config == EscalationConfig(tiers=Ladder.default()).with_tier("cheap", min_attempts=3).with_tier(
        "premium", threshold=95
    )
    assert "cheap_min_attempts" not in repr(config)
    assert "cheap_min_attempts" not in config.to_dict()


def test_replace_takes_seed_keywords_as_with_tier() -> None:
    """``replace(cheap_min_attempts=...)`` changes that tier of the config's own ladder."""
    config = EscalationConfig(cheap_min_attempts=3).replace(cheap_min_attempts=4, max_cost=2.0)
    assert (config.tiers["cheap"].min_attempts, config.max_cost) == (4, 2.0)
    assert config.replace(max_cost=3.0).tiers["cheap"].min_attempts == 4


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        (
            {"tiers": FOUR_CHEAP_ATTEMPTS, "cheap_min_attempts": 3},
            "cheap_min_attempts",
            "3 disagrees with the ladder's cheap.min_attempts = 4",
        ),
        (
            {"tiers": [Tier(name="capable", rank=1, threshold=60), Tier.PREMIUM], "capable_cqs_threshold": 80},
            "capable_cqs_threshold",
            "80 disagrees with the ladder's capable.threshold = 60.0",
        ),
        ({"tiers": [Tier.PREMIUM], "cheap_cqs_threshold": 70}, "cheap_cqs_threshold", "no 'cheap' tier"),
        ({"cheap_min_attempts": 0}, "cheap_min_attempts", "must be at least 1"),
        ({"capable_cqs_threshold": 120}, "capable_cqs_threshold", "between 0 and 100"),
    ],
)
def test_seed_keyword_errors_name_the_keyword(kwargs: dict[str, object], field: str, message: str) -> None:
    """A keyword that conflicts with the ladder, names a missing tier or is out of range is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=message) as caught:
        EscalationConfig(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_seed_keyword_agreeing_with_the_ladder_is_fine() -> None:
    """A keyword and a ladder that state the same value agree."""
    ladder = FOUR_CHEAP_ATTEMPTS
    assert EscalationConfig(tiers=ladder, cheap_min_attempts=4).tiers == ladder
    assert EscalationConfig(tiers=ladder).replace(tiers=ladder, cheap_min_attempts=4).tiers == ladder


def test_tier_value_is_its_name() -> None:
    """Seed 000's enum-style ``Tier.CHEAP.value`` is the tier's name."""
    assert (Tier.CHEAP.value, Tier.CAPABLE.value, Tier.PREMIUM.value) == ("cheap", "capable", "premium")
    assert Tier(name="mini", rank=0).value == "mini"


# -- seed 000: the CLI's --storage-path ------------------------------------------------------------------


def _commands(group: TyperGroup, prefix: str = "") -> dict[str, typer.core.TyperCommand]:
    """Every command below ``group``, by its full name."""
    found: dict[str, typer.core.TyperCommand] = {}
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            found |= _commands(command, f"{prefix}{name} ")
        elif isinstance(command, typer.core.TyperCommand):
            found[prefix + name] = command
    return found


def test_storage_path_is_on_every_command_that_takes_db() -> None:
    """``--storage-path`` is the same option as ``--db`` wherever ``--db`` is."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    with_db = {
        name: option for name, command in _commands(root).items() for option in command.params if "--db" in option.opts
    }
    assert {"list", "show", "cleanup", "analytics", "run"} <= with_db.keys()
    assert all(option.opts == ["--db", "--storage-path"] for option in with_db.values())


def test_storage_path_names_the_sqlite_file(
    make_dataset: MakeDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 000's ``progressive list --storage-path ./my-results`` lists the runs stored in that file."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(make_dataset()), "--storage-path", "./my-results", "--yes", "--json"])
    assert ran.exit_code == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]

    # Custom storage path
    listed = runner.invoke(app, shlex.split("empathy progressive list --storage-path ./my-results --json")[2:])
    assert listed.exit_code == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run_id]
    assert (tmp_path / "my-results").is_file()
    assert json.loads(runner.invoke(app, ["list", "--json"]).stdout) == []  # the default store is untouched


# -- seed 000: a workflow of one's own, result.save_to_disk() and generate_cost_analytics() --------------


class CustomWorkflow(ProgressiveWorkflow):
    """Seed 000's example 3, with the hook names it keeps: an answer is "tests" passing at its stated rate."""

    workflow_name = "custom"

    def _analyze_quality(self, context: ScoringContext) -> FailureAnalysis:
        rate = float(context.completion.text or 0)
        return FailureAnalysis(test_pass_rate=rate, weights={"test_pass_rate": 1.0})

    def _should_escalate_custom(self, tier_result: PredicateContext) -> tuple[bool, str | None]:
        """Custom escalation logic."""
        # Example: Escalate if any syntax errors
        if tier_result.failure_analysis.syntax_errors:
            return True, "Syntax errors detected"

        # Example: Escalate if test pass rate < 90%
        if tier_result.failure_analysis.test_pass_rate < 0.90:  # type: ignore[operator]  # measured by this workflow
            return True, f"Low test pass rate ({tier_result.failure_analysis.test_pass_rate:.1%})"

        return False, None


def custom_workflow(config: EscalationConfig | None = None) -> CustomWorkflow:
    """The workflow on two scripted tiers: the cheap model passes 80 % of its tests, the premium one all."""
    ladder = Ladder(
        [Tier(name="cheap", rank=0, models=("small",), threshold=50), Tier(name="premium", rank=1, models=("large",))]
    )
    provider = ScriptedProvider(
        {"small": ["0.8"] * 4, "large": ["1.0"] * 4}, cost_per_call={"small": 0.001, "large": 0.03}
    )
    return CustomWorkflow(config or EscalationConfig(tiers=ladder, cheap_min_attempts=1), provider)


def test_custom_escalation_hook_as_written() -> None:
    """Seed 000's ``_should_escalate_custom(tier_result)`` body runs as written and adds its reason to climb."""
    result = custom_workflow().execute(items=[WorkItem(id="f1", prompt="write tests for f1")])
    assert result.items[0].final_tier == "premium"
    assert result.tier_results[0].escalation_reason == "Low test pass rate (80.0%)"


def test_execute_tier_impl_is_the_tier_hook() -> None:
    """Seed 000's ``_execute_tier_impl(tier, ...)`` keeps its name: it works each item on each tier it reaches."""
    worked: list[tuple[str, str]] = []

    class Recording(CustomWorkflow):
        async def _execute_tier_impl(self, tier: Tier, context: TeamContext) -> TeamOutcome:
            """Implement tier execution logic."""
            worked.append((tier.value, context.item_id))
            return await super()._execute_tier_impl(tier, context)

    Recording(custom_workflow().config, custom_workflow().provider).execute(items=[WorkItem(id="f1", prompt="?")])
    assert worked == [("cheap", "f1"), ("premium", "f1")]


def test_quick_start_saves_to_the_default_store(capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 000's quick start: the report, cost and savings print, and ``save_to_disk()`` stores the run."""
    workflow = custom_workflow()

    # Execute with automatic tier progression
    result = workflow.execute(items=[WorkItem(id="f1", prompt="write tests for f1")])

    # View results
    print(result.generate_report())
    print(f"Cost: ${result.total_cost:.2f}")
    print(f"Savings: ${result.cost_savings:.2f} ({result.cost_savings_percent:.0f}%)")

    # Save results for analytics
    run_id = result.save_to_disk()

    assert run_id == result.run_id
    assert "Cost: $0.03" in capsys.readouterr().out
    stored = SqlStore().get_run(run_id)  # the default store: ESCALADE_DATA_DIR, set per test by conftest
    assert (stored.workflow, stored.status, stored.items_answered) == ("custom", "completed", 1)
    assert stored.total_cost == pytest.approx(result.total_cost)
    assert stored.escalation_rate == 1.0
    assert result.config is not None
    assert stored.config == result.config.to_dict()
    assert list(stored.tiers) == ["cheap", "premium"]


def test_save_to_disk_keeps_a_run_stored_as_it_ran(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run a store listener recorded as it ran is left as it is by ``save_to_disk()``."""
    monkeypatch.setenv("ESCALADE_DATABASE_URL", db_url)
    workflow = custom_workflow()
    store = SqlStore()
    workflow.listeners = (store,)
    result = workflow.execute(items=[WorkItem(id="f1", prompt="?")])
    before = store.get_run(result.run_id)
    assert result.save_to_disk() == result.run_id
    assert store.get_run(result.run_id) == before
    assert len(store.list_runs()) == 1


def test_saved_run_matches_a_run_stored_as_it_ran(db_url: str, tmp_path: Path) -> None:
    """Saving a finished result stores what a store listener would have: tiers, costs, escalations, items."""
    listened = SqlStore(db_url)
    workflow = custom_workflow()
    workflow.listeners = (listened,)
    result = workflow.execute(items=[WorkItem(id="f1", prompt="?"), WorkItem(id="f2", prompt="?")])
    saved = SqlStore(f"sqlite:///{tmp_path / 'saved.db'}")
    assert saved.save_result(result) == result.run_id
    stored, recorded = saved.get_run(result.run_id), listened.get_run(result.run_id)
    assert stored.started_at == result.started_at  # the listener stamps the moment it heard of the run
    assert stored == replace(recorded, started_at=result.started_at)
    assert saved.logged_items() == listened.logged_items()


def test_save_to_disk_without_a_registered_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ``sql`` store entry point (escalade not installed), ``save_to_disk()`` says what to do."""
    result = custom_workflow().execute(items=[WorkItem(id="f1", prompt="?")])
    monkeypatch.setattr(results, "entry_points", lambda **_: ())
    with pytest.raises(StoreError, match=r"no store named 'sql' in the entry points 'escalade\.stores': reinstall"):
        result.save_to_disk()


def test_cost_analysis_reads_the_default_store(capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 000's example 2 runs as written over the runs ``save_to_disk()`` stored."""
    for _ in range(2):
        custom_workflow().execute(items=[WorkItem(id="f1", prompt="?")]).save_to_disk()

    analytics = generate_cost_analytics()

    print(f"Total runs: {analytics['total_runs']}")
    print(f"Total cost: ${analytics['total_cost']:.2f}")
    print(f"Total savings: ${analytics['total_savings']:.2f}")
    print(f"Avg savings: {analytics['avg_savings_percent']:.1f}%")
    print(f"Escalation rate: {analytics['escalation_rate']:.1%}")
    print(f"Success rate: {analytics['success_rate']:.1%}")

    # Per-workflow breakdown
    for workflow, stats in analytics["workflow_stats"].items():
        print(f"\n{workflow}:")
        print(f"  Runs: {stats['runs']}")
        print(f"  Avg cost: ${stats['avg_cost']:.2f}")
        print(f"  Success rate: {stats['success_rate']:.1%}")

    out = capsys.readouterr().out
    assert "Total runs: 2" in out
    assert "custom:\n  Runs: 2\n  Avg cost: $0.03\n  Success rate: 100.0%" in out
    stats = analytics["workflow_stats"]["custom"]
    assert (stats["runs"], stats["avg_cost"]) == (stats.runs, stats.avg_cost)
    with pytest.raises(KeyError):
        stats["no_such_figure"]


# -- seed 000: telemetry -------------------------------------------------------------------------------


def test_telemetry_as_written() -> None:
    """Seed 000's telemetry snippet writes to the default store: hashed user, the escalation's numbers, no reason."""
    result = custom_workflow().execute(items=[WorkItem(id="f1", prompt="?")])

    # Initialize telemetry
    telemetry = ProgressiveTelemetry(
        workflow_name="test-gen",
        user_id="user@example.com",  # SHA256 hashed for privacy
    )

    # Track escalation
    telemetry.track_escalation(
        from_tier=Tier.CHEAP,
        to_tier=Tier.CAPABLE,
        reason="Low CQS (65)",
        item_count=10,
        current_cost=0.30,
    )

    # Track workflow completion
    telemetry.track_workflow_completion(result)

    escalation, completion = SqlStore().events()
    assert (escalation.event, escalation.workflow, escalation.run_id, escalation.tier) == (
        "escalation",
        "test-gen",
        None,
        "cheap",
    )
    assert escalation.data == {"to_tier": "capable", "item_count": 10, "current_cost": 0.30}
    assert (completion.event, completion.run_id) == ("workflow_completed", result.run_id)
    assert {escalation.user_hash, completion.user_hash} == {hash_user_id("user@example.com")}
    assert "Low CQS" not in repr(vars(escalation))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("item_count", -1),
        ("item_count", "ten"),
        ("item_count", True),
        ("current_cost", float("nan")),
        ("current_cost", "0.3"),
    ],
)
def test_track_escalation_keeps_numbers_only(field: str, value: object) -> None:
    """``item_count`` and ``current_cost`` must be numbers (telemetry keeps no text): anything else names the field."""
    telemetry = ProgressiveTelemetry(workflow_name="t")
    with pytest.raises(ConfigError) as caught:
        telemetry.track_escalation(from_tier="cheap", to_tier="capable", **{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert SqlStore().events() == []


# -- seed 003: the AutonomyController's confidence and history -----------------------------------------


def test_compute_confidence_is_the_seed_formula() -> None:
    """Seed 003's ``compute_confidence(factors, operation_type)`` is the seed's weighted sum of the four factors."""
    controller = AutonomyController()
    factors = {"past_success_rate": 0.9, "context_familiarity": 0.5, "risk_assessment": 0.2, "input_complexity": 0.1}
    confidence = controller.compute_confidence(factors, "deployment")
    assert confidence == pytest.approx(0.30 * 0.9 + 0.20 * 0.5 + 0.30 * (1 - 0.2) + 0.20 * (1 - 0.1))
    today = {"past_success_rate": 0.9, "familiarity": 0.5, "risk": 0.2, "complexity": 0.1}
    assert controller.compute_confidence(today, DecisionType.DEPLOYMENT) == confidence


def test_compute_confidence_of_a_decision_is_its_confidence() -> None:
    """Given a decision's own factors, ``compute_confidence`` is the confidence the controller decided with."""
    controller = AutonomyController()
    decision = controller.should_proceed_automatically({"description": "Fix a typo in the README"})
    assert controller.compute_confidence(decision.factors) == decision.confidence


@pytest.mark.parametrize(
    ("factors", "operation_type", "field"),
    [
        ({"past_success_rate": 0.9, "familiarity": 0.5, "risk": 0.2}, None, "factors"),
        ({"past_success_rate": 0.9, "familiarity": 0.5, "risk": 0.2, "complexity": 1.5}, None, "complexity"),
        ({"past_success_rate": 0.9, "familiarity": 0.5, "risk": 0.2, "complexity": 0.1, "luck": 1}, None, "luck"),
        (
            {"past_success_rate": 1, "familiarity": 1, "context_familiarity": 1, "risk": 0, "complexity": 0},
            None,
            "context_familiarity",
        ),
        ({"past_success_rate": 1, "familiarity": 1, "risk": 0, "complexity": 0}, "deploy-ish", "operation_type"),
    ],
)
def test_compute_confidence_errors_name_the_factor(
    factors: dict[str, float], operation_type: str | None, field: str
) -> None:
    """A missing, unknown, repeated or out-of-range factor, or an unknown type, is a ConfigError naming it."""
    with pytest.raises(ConfigError) as caught:
        AutonomyController().compute_confidence(factors, operation_type)
    assert caught.value.field == field


def test_recorded_outcomes_move_the_historical_success_rate() -> None:
    """Seed 003's ``record_outcome`` / ``get_historical_success_rate``: outcomes of decisions move the type's rate
    (with seed 003's fixed prior 0.7 it is the factor itself; by default the factor's prior is the decision's own)."""
    store = MemoryAutonomyStore()
    controller = AutonomyController(store, prior_success_rate=0.7)
    engine = EscalationEngine(store, controller=controller)
    assert controller.get_historical_success_rate("fix") == 0.7  # the prior, before any outcome
    for i, success in enumerate([True, True, False]):
        engine.evaluate({"id": f"d{i}", "description": "Fix a typo in the README", "type": "fix"})
        done = controller.record_outcome(f"d{i}", Outcome(success=success))
        assert done.record.outcome == Outcome(success=success)
    rate = controller.get_historical_success_rate(DecisionType.FIX)
    assert rate == pytest.approx((2 + 0.7 * 4) / (3 + 4))
    factors = controller.factors(parse_decision({"description": "Fix a typo", "type": "fix"}), DecisionContext())
    assert rate == factors["past_success_rate"].value
    assert controller.get_historical_success_rate("fix", workspace="other") == 0.7
