"""The AutonomyController: the seed 003 formula on trusted factors, compared with a profile's threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.autonomy import (
    PROFILES,
    AuditDraft,
    Decision,
    DecisionContext,
    DecisionRecord,
    DecisionType,
    MemoryAutonomyStore,
    Outcome,
)
from escalade.autonomy._controller import (
    AutonomyController,
    ConfidenceFactor,
    ConfidenceWeights,
)
from escalade.autonomy._factors import complexity_of
from escalade.exceptions import ConfigError
from tests.autonomy.factories import NOW, audit_draft, decision_record


def _factors(past: float, familiarity: float, risk: float, complexity: float) -> dict[str, ConfidenceFactor]:
    return {
        "past_success_rate": ConfidenceFactor(past, "history", ""),
        "familiarity": ConfidenceFactor(familiarity, "history", ""),
        "risk": ConfidenceFactor(risk, "classifier", ""),
        "complexity": ConfidenceFactor(complexity, "context", ""),
    }


@pytest.mark.parametrize(
    ("past", "familiarity", "risk", "complexity"),
    [(1, 1, 0, 0), (0, 0, 1, 1), (0.5, 0.5, 0.5, 0.5), (0.9, 0.2, 0.7, 0.1), (0.3, 0.8, 0.05, 0.6)],
)
def test_confidence_is_the_seed_formula(past: float, familiarity: float, risk: float, complexity: float) -> None:
    """confidence = 0.30·past + 0.20·familiarity + 0.30·(1 − risk) + 0.20·(1 − complexity)."""
    expected = 0.3 * past + 0.2 * familiarity + 0.3 * (1 - risk) + 0.2 * (1 - complexity)
    got = AutonomyController().confidence(_factors(past, familiarity, risk, complexity))
    assert got == pytest.approx(expected, abs=1e-4)


def test_weights_are_configurable() -> None:
    """Other weights change the sum accordingly."""
    weights = ConfidenceWeights(past_success_rate=0.5, familiarity=0.0, risk=0.5, complexity=0.0)
    got = AutonomyController(weights=weights).confidence(_factors(0.8, 0.0, 0.4, 1.0))
    assert got == pytest.approx(0.5 * 0.8 + 0.5 * 0.6)


@pytest.mark.parametrize(
    "weights",
    [
        {"past_success_rate": 0.5},  # sums to 1.2
        {"risk": -0.1, "past_success_rate": 0.7},
        {"risk": float("nan")},
    ],
)
def test_bad_weights_are_refused(weights: dict[str, float]) -> None:
    """Weights must be non-negative numbers summing to 1."""
    with pytest.raises(ConfigError, match="weight"):
        ConfidenceWeights(**weights)


def _record(
    i: int, *, decision_type: str = "maintenance", failed: bool = False, files: tuple[str, ...] = ()
) -> tuple[DecisionRecord, AuditDraft, Outcome]:
    record = decision_record(f"h{i}", type=decision_type, confidence=0.8, affected_files=files)
    return record, audit_draft(record), Outcome(success=not failed)


def _history(store: MemoryAutonomyStore, successes: int, failures: int, **kwargs: object) -> None:
    for i in range(successes + failures):
        record, draft, outcome = _record(i, failed=i >= successes, **kwargs)  # type: ignore[arg-type]
        store.add_decision(record, draft)
        store.set_outcome("default", record.decision_id, outcome, NOW, draft)


def test_cold_start_uses_a_fixed_prior_when_given() -> None:
    """With no history and ``prior_success_rate=0.7`` (seed 003), past success is 0.7; production
    work brings no prior experience."""
    decision = Decision(description="Deploy the web app", environment="production")
    factors = AutonomyController(prior_success_rate=0.7).factors(decision, DecisionContext())
    assert factors["past_success_rate"].value == pytest.approx(0.7)
    assert factors["familiarity"].value == 0.0
    assert {f.source for f in factors.values()} == {"prior", "classifier", "context"}


def test_history_moves_past_success_and_familiarity() -> None:
    """Successes raise the past success rate (Beta posterior) and familiarity grows with experience."""
    store = MemoryAutonomyStore()
    _history(store, 16, 4)
    factors = AutonomyController(store, prior_success_rate=0.7).factors(
        Decision(description="Fix a typo", type=DecisionType.MAINTENANCE, scope="component"), DecisionContext()
    )
    assert factors["past_success_rate"].value == pytest.approx((16 + 0.7 * 4) / (20 + 4))
    assert factors["familiarity"].value == pytest.approx(20 / 30)
    assert factors["past_success_rate"].source == factors["familiarity"].source == "history"


def test_files_seen_before_are_familiar() -> None:
    """Files touched by successful decisions count toward familiarity; new files do not."""
    store = MemoryAutonomyStore()
    _history(store, 9, 0, files=("app/models.py",))
    controller = AutonomyController(store)
    known = controller.factors(
        Decision(description="Tidy", type=DecisionType.MAINTENANCE, affected_files=("app/models.py",)),
        DecisionContext(),
    )
    unknown = controller.factors(
        Decision(description="Tidy", type=DecisionType.MAINTENANCE, affected_files=("app/views.py",)), DecisionContext()
    )
    assert known["familiarity"].value > unknown["familiarity"].value
    assert "1 of 1 files/systems seen before" in known["familiarity"].detail


@pytest.mark.parametrize(
    ("policy", "stated", "expected_source", "expected_value"),
    [
        ("cautious", {"risk": 0.9}, "caller", 0.9),  # more cautious: used
        ("cautious", {"risk": 0.0}, "classifier", None),  # less cautious: ignored
        ("cautious", {"past_success_rate": 1.0}, "prior", None),  # no history yet: the prior's
        ("cautious", {"past_success_rate": 0.1}, "caller", 0.1),
        ("ignore", {"risk": 0.9}, "classifier", None),
        ("trust", {"risk": 0.0}, "caller", 0.0),
    ],
)
def test_caller_factors_are_never_taken_on_trust(
    policy: str, stated: dict[str, float], expected_source: str, expected_value: float | None
) -> None:
    """Caller-stated factors are marked, and by default used only when they make the decision more cautious."""
    name = next(iter(stated))
    decision = Decision.model_validate({"description": "Deploy the web app", "confidence_factors": stated})
    plain = AutonomyController().factors(Decision(description="Deploy the web app"), DecisionContext())
    got = AutonomyController(caller_factors=policy).factors(decision, DecisionContext())  # type: ignore[arg-type]
    assert got[name].source == expected_source
    assert got[name].value == pytest.approx(plain[name].value if expected_value is None else expected_value)
    if expected_source != "caller":
        assert "caller stated" in got[name].detail


def test_unknown_caller_policy_is_refused() -> None:
    """A typo in the policy is an error, not a silent default."""
    with pytest.raises(ConfigError, match="caller_factors"):
        AutonomyController(caller_factors="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_each_profile_compares_with_its_threshold(profile: str) -> None:
    """Every built-in profile proceeds exactly when confidence reaches its threshold for the type."""
    controller = AutonomyController()
    for description in ("Fix a typo in the README", "Deploy v2 to production", "Change the retry timeout"):
        answer = controller.should_proceed_automatically({"description": description}, DecisionContext(), profile)
        chosen = PROFILES[profile]
        decision_type = controller.classifier.classify(Decision(description=description)).type
        expected = not chosen.manual and answer.confidence >= chosen.threshold(decision_type)
        assert answer.proceed is expected
        assert answer.threshold == chosen.threshold(decision_type)
        assert answer.profile == profile


def test_profiles_span_manual_to_autonomous() -> None:
    """The same routine decision waits under manual and proceeds under full autonomy."""
    controller = AutonomyController()
    decision = {"description": "Change the retry timeout"}
    assert not controller.should_proceed_automatically(decision, profile="manual").proceed
    assert controller.should_proceed_automatically(decision, profile="full_autonomy").proceed


def test_explanation_names_the_weakest_factor() -> None:
    """An escalation explains the gap and the weakest factor with its source."""
    answer = AutonomyController().should_proceed_automatically({"description": "Deploy v2 to production"})
    assert not answer.proceed
    assert answer.explanation.startswith("Escalate: confidence")
    assert "weakest factor" in answer.explanation
    assert answer.to_dict()["factors"]["risk"]["source"] == "classifier"


def test_unknown_profile_is_refused() -> None:
    """A profile name that does not exist is a clear error."""
    with pytest.raises(ConfigError, match="unknown profile 'yolo'"):
        AutonomyController().should_proceed_automatically({"description": "x"}, profile="yolo")


def test_code_complexity_counts_with_a_root(tmp_path: Path) -> None:
    """With a repository root, a tangled affected file raises complexity; files outside the root are ignored."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(30))
    (tmp_path / "tangled.py").write_text(f"def f(x):\n{branches}\n    return -1\n", encoding="utf-8")
    outside = tmp_path.parent / "outside.py"
    outside.write_text(f"def g(x):\n{branches}\n", encoding="utf-8")
    decision = Decision(description="Refactor f", affected_files=("tangled.py",))
    c = AutonomyController().classifier.classify(decision)
    with_root, detail = complexity_of(decision, c, tmp_path)
    without_root, _ = complexity_of(decision, c, None)
    assert with_root > without_root
    assert "cyclomatic complexity 31" in detail
    escaping = Decision(description="Refactor g", affected_files=("../outside.py",))
    assert complexity_of(escaping, c, tmp_path)[0] == complexity_of(escaping, c, None)[0]


def test_cold_start_prior_comes_from_the_decision_itself() -> None:
    """With no history, local reversible non-production work starts trusted; production, irreversible
    or system-wide work keeps at most seed 003's 0.7 and no prior experience."""
    controller = AutonomyController()
    local = controller.factors(
        Decision(description="Rename a helper in utils.py", affected_files=["src/utils.py"], environment="development"),
        DecisionContext(),
    )
    assert local["past_success_rate"].source == local["familiarity"].source == "prior"
    assert local["past_success_rate"].value == pytest.approx(0.5 + 0.4 * (1 - local["risk"].value))
    assert 0 < local["familiarity"].value <= 0.5
    assert "scope local" in local["past_success_rate"].detail
    for cautious in (
        Decision(description="Restart the API", environment="production"),
        Decision(description="Drop the scratch table", reversible=False, environment="development"),
        Decision(description="Rename the config key everywhere", scope="system-wide"),
    ):
        factors = controller.factors(cautious, DecisionContext())
        assert factors["past_success_rate"].value <= 0.7, cautious.description
        assert factors["familiarity"].value == 0.0, cautious.description


def test_the_prior_fades_as_history_grows() -> None:
    """Failures pull past success below the prior, and with history its source is the history."""
    store = MemoryAutonomyStore()
    _history(store, 0, 30)
    decision = Decision(description="Fix a typo", type=DecisionType.MAINTENANCE)
    fresh = AutonomyController().factors(decision, DecisionContext(workspace="fresh"))
    learned = AutonomyController(store).factors(decision, DecisionContext())
    assert learned["past_success_rate"].source == "history"
    assert learned["past_success_rate"].value < 0.2 < fresh["past_success_rate"].value
