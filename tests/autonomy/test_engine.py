"""The EscalationEngine: the seed scenarios, every reason to escalate, storage, audit and outcomes."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from escalade.autonomy import (
    PROFILES,
    CalibrationRecord,
    DecisionContext,
    EscalationEngine,
    Labelled,
    MemoryAutonomyStore,
    Outcome,
    Priority,
    RateControl,
    RuleSet,
    load_rules,
    verify_trail,
)
from escalade.exceptions import CalibrationNotFoundError, ConfigError, DecisionError, NotEnoughLabelsError
from tests.autonomy.factories import verify_stored_chain

NOW = datetime(2026, 11, 1, tzinfo=UTC)

ESCALATE: list[dict[str, Any]] = [
    {"id": "deploy", "description": "Deploy release 4.2 of the storefront", "environment": "production"},
    {"id": "jwt", "description": "Rotate the JWT signing key used by the auth service"},
    {
        "id": "delete",
        "description": "Delete 25,000 user records of closed accounts",
        "involves_data_deletion": True,
        "record_count": 25000,
    },
    {
        "id": "breaking",
        "description": "Rename the total field of the public orders API to amount",
        "breaking_change": True,
    },
    {"id": "paraphrase-deploy", "description": "Ship the new build to the live cluster"},
    {"id": "paraphrase-crypto", "description": "Swap bcrypt for argon2 in the password hasher"},
    {"id": "paraphrase-purge", "description": "Purge rows older than a year from the events table"},
    # an agent cannot talk its way out: a "no other changes" clause or a harmless stated type changes nothing
    {"id": "deploy-else", "description": "Deploy v2.3 to production and don't change anything else"},
    {"id": "jwt-else", "description": "Rotate the JWT signing key, do not modify anything else"},
    {"id": "deploy-typed", "description": "Deploy v2.3 to production", "type": "maintenance"},
]
PROCEED: list[dict[str, Any]] = [
    {"id": "typo", "description": "Fix a typo in the README", "affected_files": ["README.md"]},
    {"id": "css", "description": "Change the primary button colour in styles.css from blue to green"},
    {"id": "rename", "description": "Rename the local variable tmp to total in utils.py"},
    {"id": "rename-auth", "description": "Rename a local variable in the auth module"},
]


@pytest.fixture
def engine() -> EscalationEngine:
    """An engine on an empty memory store, balanced profile, fixed randomness and clock."""
    return EscalationEngine(MemoryAutonomyStore(), rng=random.Random(0), clock=lambda: NOW)


@pytest.mark.parametrize("decision", ESCALATE, ids=[d["id"] for d in ESCALATE])
def test_risky_seed_scenarios_escalate(engine: EscalationEngine, decision: dict[str, Any]) -> None:
    """A production deploy, key rotation, mass deletion, breaking change and their paraphrases wait for a person."""
    result = engine.evaluate(decision)
    assert result.should_escalate, result.reasons
    assert result.reasons
    assert result.priority >= Priority.HIGH
    assert result.autonomous_action is None


@pytest.mark.parametrize("decision", PROCEED, ids=[d["id"] for d in PROCEED])
def test_routine_seed_scenarios_proceed(engine: EscalationEngine, decision: dict[str, Any]) -> None:
    """A README typo, a CSS colour and a local rename proceed on their own, even with no history."""
    result = engine.evaluate(decision)
    assert not result.should_escalate, result.reasons
    assert result.autonomous_action == "proceed"
    assert result.reasons == ()


@pytest.mark.parametrize("profile", ["balanced", "confident", "trusting"])
def test_seed_scenarios_hold_across_middle_profiles(profile: str) -> None:
    """The careful-operator answers do not depend on picking exactly the default profile."""
    engine = EscalationEngine(MemoryAutonomyStore(), profile=profile, rng=random.Random(0))
    assert all(engine.evaluate(d).should_escalate for d in ESCALATE)
    assert not any(engine.evaluate({**d, "id": d["id"] + "-again"}).should_escalate for d in PROCEED)


def test_reasons_name_rules_and_criticality(engine: EscalationEngine) -> None:
    """Each reason says what fired: the rule with its priority, the criticality with its factors."""
    result = engine.evaluate({"description": "Rotate the JWT signing keys", "environment": "production"})
    assert "security_change" in result.rule_hits
    assert any(r.startswith("rule security_change (critical)") for r in result.reasons)
    assert any(r.startswith("criticality 0.95 > 0.9 (production 0.9, security 1)") for r in result.reasons)
    assert result.priority is Priority.CRITICAL
    assert not result.batch_eligible


def test_low_confidence_reason_explains_the_threshold(engine: EscalationEngine) -> None:
    """A confidence escalation shows the threshold's parts and the weakest factor."""
    result = engine.evaluate({"description": "Migrate the reporting jobs to the new scheduler", "type": "architecture"})
    assert result.should_escalate
    assert not result.forced
    reason = result.reasons[-1]
    assert reason.startswith(f"confidence {result.confidence:.2f} < ")
    assert "profile 0.64" in reason
    assert "weakest factor" in reason


def test_looking_needs_the_lowest_threshold(engine: EscalationEngine) -> None:
    """A read-only security review is held to the profile's lowest bar, and still asks under manual."""
    look = engine.evaluate({"description": "Review how the auth middleware validates sessions; do not change anything"})
    assert look.type.value == "security"
    assert look.classification.read_only
    assert look.threshold.profile == min(PROFILES["balanced"].thresholds.values())
    assert not look.should_escalate, look.reasons
    act = engine.evaluate({"description": "Change how the auth middleware validates sessions"})
    assert act.threshold.profile == PROFILES["balanced"].thresholds[act.type]
    assert act.should_escalate
    assert engine.evaluate({"description": "Review the auth middleware, read-only"}, profile="manual").should_escalate


def test_manual_and_full_autonomy(engine: EscalationEngine) -> None:
    """Manual asks about everything; full autonomy only about critical rules."""
    assert engine.evaluate({"description": "Fix a typo"}, profile="manual").should_escalate
    full = engine.evaluate({"description": "Deploy v2", "environment": "production"}, profile="full_autonomy")
    assert not full.should_escalate
    assert "production_deployment" in full.advisory_rules
    critical = engine.evaluate(
        {"description": "Update the GDPR consent text", "affects_compliance": True}, profile="full_autonomy"
    )
    assert critical.should_escalate
    assert critical.rule_hits == ("compliance",)


def test_low_priority_rules_advise_under_trusting(engine: EscalationEngine) -> None:
    """Below the profile's rule floor (high for autonomous), a rule is advice; at or above it (trusting), it forces."""
    rules = load_rules()
    hits = rules.evaluate({"estimated_cost": 150})
    assert [h.name for h in hits] == ["high_cost"]
    result = engine.evaluate({"description": "Renew the monitoring plan", "estimated_cost": 150}, profile="autonomous")
    assert "high_cost" in result.advisory_rules
    assert "high_cost" not in result.rule_hits
    forced = engine.evaluate({"description": "Renew the monitoring plan", "estimated_cost": 150}, profile="trusting")
    assert "high_cost" in forced.rule_hits


def test_low_stakes_may_proceed_with_risk_accepted() -> None:
    """Just under the threshold, a reversible low-importance decision proceeds and says so."""
    engine = EscalationEngine(MemoryAutonomyStore(), rng=random.Random(0), rate=RateControl(enabled=False))
    decision = {"description": "Tweak the wording of a log message", "type": "maintenance"}
    preview = engine.preview(decision)
    margin = PROFILES["balanced"].risk_margin
    gap = preview.threshold.value - preview.confidence
    profile = PROFILES["balanced"]
    if gap <= 0:  # make the profile demand a little more than this decision has
        profile = replace(profile, thresholds={**profile.thresholds, preview.type: preview.confidence + margin / 2})
    result = engine.evaluate(decision, profile=profile)
    assert not result.should_escalate
    assert result.risk_accepted
    assert result.confidence < result.threshold.value


def test_custom_rule_file_escalates(tmp_path: Any) -> None:
    """A user's declarative rule forces escalation with its own reason."""
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rules]]\nname = "payments_freeze"\npriority = "high"\nreason = "Payments are frozen this week"\n'
        'when = { field = "description", op = "contains", value = "payment" }\n',
        encoding="utf-8",
    )
    engine = EscalationEngine(MemoryAutonomyStore(), rules=load_rules(path))
    result = engine.evaluate({"description": "Fix a typo in the payment page"})
    assert result.should_escalate
    assert result.rule_hits == ("payments_freeze",)
    assert "Payments are frozen this week" in result.reasons[0]


def test_duplicate_id_is_refused_and_keeps_the_store(engine: EscalationEngine) -> None:
    """Deciding the same id twice is an error that changes nothing stored."""
    engine.evaluate({"id": "x", "description": "Fix a typo"})
    head = engine.store.audit_snapshot().head
    with pytest.raises(DecisionError, match="already decided"):
        engine.evaluate({"id": "x", "description": "Deploy to prod"})
    assert engine.store.audit_snapshot().head == head
    assert engine.store.decision_count("default") == 1


def test_workspaces_are_separate(engine: EscalationEngine) -> None:
    """The same id may be decided once per workspace."""
    engine.evaluate({"id": "x", "description": "Fix a typo"}, DecisionContext(workspace="a"))
    engine.evaluate({"id": "x", "description": "Fix a typo"}, DecisionContext(workspace="b"))
    assert engine.store.decision_count("a") == engine.store.decision_count("b") == 1


def test_preview_stores_nothing(engine: EscalationEngine) -> None:
    """A preview answers like evaluate but leaves no trace."""
    preview = engine.preview({"id": "p", "description": "Deploy to prod"})
    assert preview.should_escalate
    assert engine.store.decision_count("default") == 0
    assert engine.store.audit_snapshot().head is None
    assert engine.store.offsets("default") == {}


def test_audit_entry_holds_inputs_and_reasons(engine: EscalationEngine) -> None:
    """The decision's audit entry has its inputs, classification, rules, factors, threshold and result."""
    result = engine.evaluate(
        {"id": "a1", "description": "Deploy v3", "environment": "production"}, DecisionContext(agent="bot-7")
    )
    entry = engine.store.audit_entries()[0]
    body = json.loads(entry.body)
    payload = body["payload"]
    assert body["kind"] == "decision"
    assert body["decision_id"] == "a1"
    assert entry.seq == result.audit_seq
    assert payload["decision"] == {"id": "a1", "description": "Deploy v3", "environment": "production"}
    assert payload["context"]["agent"] == "bot-7"
    assert payload["classification"]["type"] == "deployment"
    assert payload["rule_hits"] == ["production_deployment"]
    assert set(payload["factors"]) == {"past_success_rate", "familiarity", "risk", "complexity"}
    assert payload["threshold"]["profile"] == 0.66
    assert payload["escalate"] is True


def test_outcome_is_audited_and_learned(engine: EscalationEngine) -> None:
    """An outcome is appended to the trail with its verdict, and a miss raises the type's threshold."""
    engine.evaluate({"id": "t", "description": "Fix a typo in the README"})
    done = engine.record_outcome("t", Outcome(success=False))
    assert done.verdict == "missed"
    assert done.learned_offset == pytest.approx(0.05)
    last = json.loads(engine.store.audit_entries()[-1].body)
    assert last["kind"] == "outcome"
    assert last["payload"]["verdict"] == "missed"
    assert last["payload"]["label"] is True
    assert verify_stored_chain(engine.store).ok
    again = engine.preview({"description": "Fix a typo in the README"})
    assert again.threshold.learned == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("decision_id", "match"),
    [("missing", "no decision with this id"), ("t", "already has an outcome")],
)
def test_outcome_errors(engine: EscalationEngine, decision_id: str, match: str) -> None:
    """An unknown id or a second outcome is a clear error and appends nothing."""
    engine.evaluate({"id": "t", "description": "Fix a typo"})
    engine.record_outcome("t", Outcome(success=True))
    head = engine.store.audit_snapshot().head
    with pytest.raises(DecisionError, match=match):
        engine.record_outcome(decision_id, Outcome(success=True))
    assert engine.store.audit_snapshot().head == head


def test_uncertified_type_escalates_with_the_calibration_named(engine: EscalationEngine) -> None:
    """When the stored calibration certifies nothing for a type, its decisions wait and the reason says why."""
    engine.store.save_calibration(
        "default",
        CalibrationRecord(
            id="cal1",
            created_at=NOW,
            alpha=0.05,
            delta=0.1,
            floors={"maintenance": None},
            labelled={"maintenance": 3},
            messages={},
        ),
    )
    result = engine.evaluate({"description": "Fix a typo in the README"})
    assert result.should_escalate
    assert not result.forced  # its label must reach the next calibration
    assert any("calibration cal1 certifies no confidence threshold" in r for r in result.reasons)
    assert engine.store.offsets("default") == {}  # rate control cannot move it, so it does not count


def test_calibrate_stores_and_audits(engine: EscalationEngine) -> None:
    """A calibration from labelled decisions is stored, audited and used by the next decision."""
    labels = [Labelled("maintenance", 0.5 + i / 200, False) for i in range(100)]
    record = engine.calibrate(alpha=0.1, delta=0.1, labelled=labels)
    assert record.floors["maintenance"] is not None
    assert json.loads(engine.store.audit_entries()[-1].body)["kind"] == "calibration"
    result = engine.evaluate({"description": "Fix a typo in the README"})
    assert result.threshold.calibration_id == record.id
    assert result.threshold.floor == record.floors["maintenance"]


@pytest.mark.parametrize(
    "labels",
    [None, [Labelled("maintenance", 0.9, False)] * 10],
    ids=["the-workspace-has-none", "ten-given"],
)
def test_calibrating_with_too_few_labels_changes_nothing(
    engine: EscalationEngine, labels: list[Labelled] | None
) -> None:
    """Too few labels: the refusal says how many are needed, and no calibration or audit entry is stored."""
    engine.evaluate({"id": "t", "description": "Fix a typo in the README"})
    head = engine.store.audit_snapshot().head
    with pytest.raises(NotEnoughLabelsError, match="needs at least 49 labelled decisions of one type"):
        engine.calibrate(alpha=0.05, delta=0.1, labelled=labels)
    assert (engine.store.calibration("default"), engine.store.audit_snapshot().head) == (None, head)
    assert not engine.evaluate({"id": "t2", "description": "Fix a typo in the README"}).should_escalate


def test_removing_a_calibration_puts_the_previous_in_force(engine: EscalationEngine) -> None:
    """Removing the newest calibration restores the one before it; removing that one, none; each is audited."""
    labels = [Labelled("maintenance", 0.5 + i / 200, False) for i in range(100)]
    first = engine.calibrate(alpha=0.1, delta=0.1, labelled=labels)
    second = engine.calibrate(alpha=0.2, delta=0.1, labelled=labels)
    assert [c.id for c in engine.calibrations()] == [second.id, first.id]
    assert engine.remove_calibration(second.id) == second
    assert engine.store.calibration("default") == first
    engine.remove_calibration(first.id)
    assert engine.calibrations() == []
    assert [e.kind for e in engine.store.audit_entries()][-2:] == ["calibration_removed"] * 2
    assert verify_trail(engine.store, key=None).ok


def test_removing_an_unknown_calibration_is_refused(engine: EscalationEngine) -> None:
    """An id the workspace does not hold is a clear error and appends nothing."""
    record = engine.calibrate(alpha=0.1, delta=0.1, labelled=[Labelled("maintenance", 0.9, False)] * 60)
    head = engine.store.audit_snapshot().head
    with pytest.raises(CalibrationNotFoundError, match="see `escalade decide --calibrations`"):
        engine.remove_calibration("nope")
    with pytest.raises(CalibrationNotFoundError, match="in workspace 'other'"):
        engine.remove_calibration(record.id, workspace="other")
    assert (engine.store.audit_snapshot().head, engine.calibrations()) == (head, [record])


def test_unusual_needs_history() -> None:
    """Nothing is unusual in a new workspace; a first-of-its-kind decision is, once there is history."""
    engine = EscalationEngine(MemoryAutonomyStore(), unusual_after=5, rng=random.Random(0))
    assert engine.evaluate({"description": "Scale the API to 12 replicas"}).unusual == ()
    for i in range(5):
        engine.evaluate({"id": f"f{i}", "description": "Fix a typo in the docs"})
    first = engine.evaluate({"description": "Backfill the country column", "type": "data"})
    assert first.unusual == ("first data decision in 6",)


_LOW_RISK = [
    "Rename the helper parse_row to read_row in {f}",
    "Add a unit test for the date parser in {f}",
    "Fix the spelling of 'recieve' in a comment in {f}",
    "Reformat {f} with the project's formatter",
    "Add type hints to the private helpers in {f}",
    "Extract a small function from the loop in {f}",
]


@pytest.mark.parametrize("environment", [None, "development", "staging"])
@pytest.mark.parametrize("template", _LOW_RISK)
def test_fresh_workspace_lets_low_risk_local_work_proceed(template: str, environment: str | None) -> None:
    """Cold start: with no history at all, low-risk, local, reversible, non-production work proceeds
    under the balanced profile, on priors from the decision itself, and nothing is 'unusual'."""
    engine = EscalationEngine(MemoryAutonomyStore(), rng=random.Random(0))
    decision = {"description": template.format(f="src/app/util.py"), "affected_files": ["src/app/util.py"]}
    result = engine.evaluate({**decision, **({"environment": environment} if environment else {})})
    assert not result.should_escalate, result.reasons
    assert result.unusual == ()
    assert result.factors["past_success_rate"].source == "prior"


def test_fresh_workspace_still_escalates_what_rules_force() -> None:
    """Cold start changes nothing for what a rule or criticality forces, under every middle profile."""
    for profile in ("balanced", "confident", "trusting"):
        engine = EscalationEngine(MemoryAutonomyStore(), profile=profile, rng=random.Random(0))
        for decision in ESCALATE:
            result = engine.evaluate(decision)
            assert result.should_escalate, (profile, decision["id"], result.reasons)
            assert result.forced, (profile, decision["id"], result.reasons)


def test_rate_control_moves_only_on_threshold_decisions(engine: EscalationEngine) -> None:
    """Forced escalations do not wind the rate offset down; threshold decisions move it by η·(e − target)."""
    engine.evaluate({"description": "Rotate the JWT signing keys"})  # forced
    assert engine.store.offsets("default").get("rate:balanced", 0.0) == 0.0
    engine.evaluate({"description": "Fix a typo in the README"})  # proceeds on confidence
    assert engine.store.offsets("default")["rate:balanced"] == pytest.approx(0.01 * 0.05)


def test_audit_sampling_rate() -> None:
    """About audit_rate of decisions are drawn for the audit sample, whatever was decided."""
    engine = EscalationEngine(MemoryAutonomyStore(), audit_rate=0.3, rng=random.Random(1))
    drawn = sum(engine.evaluate({"description": "Fix a typo"}).audit_sampled for _ in range(400))
    assert 0.22 < drawn / 400 < 0.38


@pytest.mark.parametrize("kwargs", [{"audit_rate": 1.5}, {"profile": "yolo"}])
def test_engine_settings_are_checked(kwargs: dict[str, Any]) -> None:
    """Bad engine settings are refused."""
    with pytest.raises(ConfigError):
        EscalationEngine(MemoryAutonomyStore(), **kwargs)


def test_empty_rule_set_still_has_the_controller() -> None:
    """Without rules, low confidence still escalates."""
    engine = EscalationEngine(MemoryAutonomyStore(), rules=RuleSet([]))
    assert engine.evaluate({"description": "Deploy v2", "environment": "production"}).should_escalate


def test_calibration_held_types_can_be_recalibrated() -> None:
    """Decisions a calibration holds for a person still teach the next calibration, which can release the type."""
    engine = EscalationEngine(MemoryAutonomyStore(), rng=random.Random(3), audit_rate=1.0, clock=lambda: NOW)
    first = engine.calibrate(alpha=0.2, delta=0.2, labelled=[Labelled("deployment", 0.9, False)] * 40)
    assert first.floors["maintenance"] is None  # no labels: maintenance is held
    for i in range(60):
        result = engine.evaluate({"id": f"t{i}", "description": "Fix a typo in the README"})
        assert result.should_escalate
        assert not result.forced
        engine.record_outcome(f"t{i}", Outcome(response="approve", response_time_s=5))
    second = engine.calibrate(alpha=0.2, delta=0.2)
    assert second.labelled["maintenance"] == 60
    assert second.floors["maintenance"] is not None
    assert not engine.evaluate({"id": "after", "description": "Fix a typo in the README"}).should_escalate


def test_cut_outcome_and_calibration_entries_are_referenced() -> None:
    """Outcomes and calibrations are referenced like decisions, so cutting their entries is caught."""
    engine = EscalationEngine(MemoryAutonomyStore(), rng=random.Random(0), clock=lambda: NOW)
    engine.evaluate({"id": "a", "description": "Fix a typo"})
    assert engine.store.audit_snapshot().referenced == 1
    engine.record_outcome("a", Outcome(success=True))
    assert engine.store.audit_snapshot().referenced == 2
    engine.calibrate(alpha=0.2, delta=0.2, labelled=[Labelled("fix", 0.9, False)] * 30)
    assert engine.store.audit_snapshot().referenced == 3
