"""Trigger detection: synonyms and variants fire, look-alikes do not, custom triggers load from TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.exceptions import ConfigError
from escalade.routing import (
    DEFAULT_PATTERNS,
    Task,
    TriggerCategory,
    TriggerDetector,
    TriggerPattern,
    load_trigger_patterns,
)


def _names(task: Task, detector: TriggerDetector | None = None) -> set[str]:
    return {t.name for t in (detector or TriggerDetector()).detect(task)}


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Implement JWT authentication with OAuth2 integration", "authentication"),
        ("Add SSO login through OpenID Connect", "authentication"),
        ("Enforce RBAC permissions on the admin pages", "authentication"),
        ("Authorize requests with bearer tokens", "authentication"),
        ("Add password hashing for new accounts", "cryptography"),
        ("Swap bcrypt for argon2", "cryptography"),
        ("Rotate the TLS certificates and signing keys", "cryptography"),
        ("Fix the SQL injection in search", "vulnerability"),
        ("Patch CVE-2024-3094 in the build image", "vulnerability"),
        ("Make data export GDPR compliant", "compliance"),
        ("Migrate user database schema", "schema_migration"),
        ("Drop column legacy_id from users", "schema_migration"),
        ("ALTER TABLE orders ADD COLUMN note", "schema_migration"),
        ("Move the retry logic across services into a shared library", "cross_service"),
        ("Implement Dijkstra shortest path for the route planner", "complex_algorithm"),
        ("Fix the race condition in the job scheduler", "complex_algorithm"),
        ("Handle refunds in the Stripe checkout", "revenue_path"),
        ("Cut p99 latency of the search endpoint", "performance"),
        ("Design a REST API for orders with error handling", "api_contract"),
        ("Plan a zero-downtime data migration with backfill", "migration_strategy"),
    ],
)
def test_variants_and_synonyms_fire(description: str, expected: str) -> None:
    """Each trigger fires on paraphrases, abbreviations and related terms, not only its own name."""
    assert expected in _names(Task(description))


@pytest.mark.parametrize(
    "description",
    [
        "Fix the author name on the blog post",
        "Update the authors list in the credits",
        "Tokenize the input text and build a hash map of word counts",
        "Change the primary button colour to blue on the settings page",
        "Update the README with installation steps",
        "Rename a local variable in the parser",
    ],
)
def test_look_alikes_do_not_fire(description: str) -> None:
    """Words that merely contain a trigger word (author, tokenize, hash map) fire nothing."""
    assert _names(Task(description)) == set()


def test_trigger_has_confidence_reason_and_evidence() -> None:
    """A trigger says how sure it is, why, and what matched where."""
    (trigger,) = TriggerDetector().detect(Task("Swap bcrypt for argon2"))
    assert trigger.category is TriggerCategory.SECURITY
    assert trigger.confidence == pytest.approx(0.9)
    assert trigger.reason.startswith("Escalate: cryptography")
    assert 'description: "argon2"' in trigger.evidence
    assert 'description: "bcrypt"' in trigger.evidence


def test_paths_and_contents_add_weaker_evidence() -> None:
    """File paths (camelCase and folders split into words) and contents count, each less than the description."""
    by_path = TriggerDetector().detect(Task("Tidy up", files=("services/auth/jwtMiddleware.py",)))
    assert [t.name for t in by_path] == ["authentication"]
    assert by_path[0].confidence == pytest.approx(0.9 * 0.8)
    by_contents = TriggerDetector().detect(Task("Tidy up", file_contents={"x.py": "import stripe\n"}))
    assert by_contents[0].name == "revenue_path"
    assert by_contents[0].confidence == pytest.approx(0.85 * 0.6)
    both = TriggerDetector().detect(Task("Add JWT checks", files=("auth.py",)))
    assert both[0].confidence == pytest.approx(1 - (1 - 0.9) * (1 - 0.72))


def test_many_files_and_broad_refactors() -> None:
    """More than three files is a complexity trigger; a refactor counts only when it is that broad."""
    files = tuple(f"pkg/m{i}.py" for i in range(5))
    assert _names(Task("Refactor logging", files=files)) == {"multi_file_refactor"}
    assert _names(Task("Refactor logging", files=files[:2])) == set()
    assert _names(Task("Update docstrings", files=files)) == {"many_files"}


def test_custom_triggers_from_toml(tmp_path: Path) -> None:
    """Custom triggers are added, can replace a built-in, and built-ins can be disabled."""
    path = tmp_path / "triggers.toml"
    path.write_text(
        """
disable = ["performance"]

[[triggers]]
name = "feature_flags"
category = "business_impact"
phrases = ["feature ?flags?", "LaunchDarkly"]
confidence = 0.7
reason = "flags change behaviour for every user at once"
""",
        encoding="utf-8",
    )
    patterns = load_trigger_patterns(path)
    detector = TriggerDetector(patterns)
    assert _names(Task("Remove the old feature flag via launchdarkly"), detector) == {"feature_flags"}
    assert _names(Task("Cut p99 latency"), detector) == set()
    assert len(patterns) == len(DEFAULT_PATTERNS)  # one added, one disabled


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[triggers]]\nname = "x"\ncategory = "security"\nphrases = ["(unclosed"]\nconfidence = 0.5\n', "bad phrase"),
        ('[[triggers]]\nname = "x"\ncategory = "danger"\nphrases = ["a"]\nconfidence = 0.5\n', "category 'danger'"),
        ('[[triggers]]\nname = "x"\ncategory = "security"\nphrases = ["a"]\nconfidence = 2\n', "confidence must be"),
        ('[[triggers]]\nname = "x"\ncategory = "security"\nphrases = "a"\nconfidence = 0.5\n', "list of strings"),
        ('[[triggers]]\nname = "x"\ncategory = "security"\nphrase = ["a"]\nconfidence = 0.5\n', "unknown key"),
        ('[[triggers]]\nname = "x"\ncategory = "security"\nconfidence = 0.5\n', "missing 'phrases'"),
        ('disable = ["nope"]\n', "unknown trigger 'nope'"),
        ("colour = 1\n", "unknown key 'colour'"),
        ("[[triggers\n", "not valid TOML"),
        ("disable = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
        ("x = " + "7" * 5000 + "\n", "more than 4,300 digits"),
        (b"disable = ['caf\xe9']\n", "not UTF-8 text"),
    ],
)
def test_bad_trigger_files_name_the_problem(tmp_path: Path, body: str | bytes, message: str) -> None:
    """A bad trigger file fails with the file, the trigger and the reason."""
    path = tmp_path / "triggers.toml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    with pytest.raises(ConfigError, match=message) as info:
        load_trigger_patterns(path)
    assert str(path) in str(info.value)


def test_missing_trigger_file_and_duplicate_names(tmp_path: Path) -> None:
    """An unreadable file and a trigger defined twice are errors."""
    with pytest.raises(ConfigError, match="trigger file not found"):
        load_trigger_patterns(tmp_path / "absent.toml")
    twice = TriggerPattern(name="a", category=TriggerCategory.SECURITY, phrases=("x",), confidence=0.5, reason="r")
    with pytest.raises(ConfigError, match="defined twice"):
        TriggerDetector([twice, twice])
