"""Classification: the type and the risky facts are read from the description, stated fields win."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.autonomy import (
    CRITICALITY_WEIGHTS,
    Category,
    Decision,
    DecisionClassifier,
    DecisionType,
    Environment,
    Priority,
    Scope,
    _classify_facts,
    _classify_scores,
    impact_level,
)
from escalade.autonomy import _lexicon as lexicon
from escalade.autonomy._classify_facts import Resolver
from escalade.autonomy._factors import risk_of

classify = DecisionClassifier().classify


PARAPHRASES = [
    # the examples
    ("Ship to the live cluster", DecisionType.DEPLOYMENT),
    ("Swap bcrypt for argon2", DecisionType.SECURITY),
    ("Purge rows older than a year from the events table", DecisionType.DATA),
    # deployment
    ("Roll the new checkout build out to everyone", DecisionType.DEPLOYMENT),
    ("Promote build 512 from staging", DecisionType.DEPLOYMENT),
    ("Push version 3.1 to prod", DecisionType.DEPLOYMENT),
    ("Cut a release of the mobile app and submit it to the App Store", DecisionType.DEPLOYMENT),
    ("Redeployed the payments worker after the config fix", DecisionType.DEPLOYMENT),
    # security
    ("Rotate the JWT signing keys", DecisionType.SECURITY),
    ("Grant the contractor admin access to the billing console", DecisionType.SECURITY),
    ("Patch CVE-2024-1234 in the image library", DecisionType.SECURITY),
    ("Turn on MFA for every engineer", DecisionType.SECURITY),
    ("Renew the TLS certificate of api.example.com", DecisionType.SECURITY),
    ("Open port 5432 on the database security group", DecisionType.SECURITY),
    # data
    ("Backfill the new country column for existing customers", DecisionType.DATA),
    ("Wipe the analytics warehouse tables", DecisionType.DATA),
    ("Restore the orders database from last night's snapshot", DecisionType.DATA),
    ("Anonymize customer emails in the reporting dataset", DecisionType.DATA),
    ("Drop the legacy users table", DecisionType.DATA),
    # architecture
    ("Split the monolith into billing and identity services", DecisionType.ARCHITECTURE),
    ("Redesign the notification pipeline around an event bus", DecisionType.ARCHITECTURE),
    ("Replace the ORM with raw SQL across the codebase", DecisionType.ARCHITECTURE),
    # configuration
    ("Raise the HTTP client timeout to 30 seconds", DecisionType.CONFIGURATION),
    ("Turn off the new-checkout feature flag", DecisionType.CONFIGURATION),
    ("Set LOG_LEVEL to debug in the worker env vars", DecisionType.CONFIGURATION),
    # resource
    ("Scale the API to 12 replicas", DecisionType.RESOURCE),
    ("Provision two more GPU nodes for training", DecisionType.RESOURCE),
    ("Add three workers to the ingest autoscaling group", DecisionType.RESOURCE),
    # integration
    ("Add a Stripe webhook for refunds", DecisionType.INTEGRATION),
    ("Integrate the Slack notifier with the incident bot", DecisionType.INTEGRATION),
    ("Expose a new endpoint for order exports", DecisionType.INTEGRATION),
    # maintenance
    ("Fix the typo in the README", DecisionType.MAINTENANCE),
    ("Change the primary button colour in styles.css", DecisionType.MAINTENANCE),
    ("Rename a local variable in utils.py", DecisionType.MAINTENANCE),
    ("Bump pytest in the dev dependencies", DecisionType.MAINTENANCE),
    ("Remove unused imports across the test suite", DecisionType.MAINTENANCE),
    ("Proofread the release notes for 2.3", DecisionType.MAINTENANCE),
    ("Fix the typo on the login page", DecisionType.MAINTENANCE),
    # fix
    ("Fix the null pointer crash in checkout", DecisionType.FIX),
    ("Resolve the regression in the date parser", DecisionType.FIX),
    ("Repair the flaky retry test", DecisionType.FIX),
    # general
    ("Write the quarterly planning notes", DecisionType.GENERAL),
    ("Update the author field in setup.py", DecisionType.GENERAL),
]


@pytest.mark.parametrize(("description", "expected"), PARAPHRASES)
def test_type_from_paraphrase(description: str, expected: DecisionType) -> None:
    """The type is read from wording, synonyms and jargon, not only the obvious keyword."""
    c = classify(Decision(description=description))
    assert c.type is expected, (c.type, c.type_scores)
    assert c.sources["type"] in ("inferred", "default")


def test_stated_type_wins() -> None:
    """A stated type is never overridden."""
    c = classify(Decision(description="Deploy to prod", type=DecisionType.MAINTENANCE))
    assert c.type is DecisionType.MAINTENANCE
    assert c.sources["type"] == "stated"


@pytest.mark.parametrize(
    ("description", "deletion"),
    [
        ("Purge rows older than 90 days from events", True),
        ("Delete 25,000 user records", True),
        ("Drop the users table", True),
        ("Drop the unused users table", True),
        ("Wipe the staging database", True),
        ("Hard delete the accounts of churned customers", True),
        ("Truncate the audit_events table", True),
        ("Remove unused imports", False),
        ("Drop the unused index on orders", False),
        ("Clear the CDN cache", False),
        ("Delete the temp file in /tmp", False),
        ("Delete the test users created by the e2e suite", False),
        ("Remove the v1 orders endpoint", False),
        ("Purge the CDN cache for the landing page", False),
        ("Delete the stale feature branch", False),
    ],
)
def test_deletion_from_the_object_of_the_verb(description: str, deletion: bool) -> None:
    """A deletion is a deleting verb whose object is real data (the object's last word decides)."""
    assert classify(Decision(description=description)).deletion is deletion


def test_stated_deletion_false_wins() -> None:
    """The caller stating no deletion is believed."""
    c = classify(Decision(description="Purge rows", involves_data_deletion=False))
    assert c.deletion is False
    assert c.sources["deletion"] == "stated"


@pytest.mark.parametrize(
    ("description", "environment"),
    [
        ("Ship to the live cluster", Environment.PRODUCTION),
        ("Restart the prod-eu workers", Environment.PRODUCTION),
        ("Deploy to staging then to production", Environment.PRODUCTION),
        ("Run the migration in pre prod", Environment.STAGING),
        ("Try it on my dev box", Environment.DEVELOPMENT),
        ("Refactor the parser", None),
    ],
)
def test_environment_from_text(description: str, environment: Environment | None) -> None:
    """The riskiest environment named in the text is inferred; none named stays unknown."""
    assert classify(Decision(description=description)).environment is environment


def test_quantities_are_read_from_the_text() -> None:
    """Record counts, money and slow-downs are read when not stated; stated values win."""
    c = classify(Decision(description="Archive 2.5M rows; costs about $1,200 and makes reports 30% slower"))
    assert (c.record_count, c.estimated_cost, c.performance_impact) == (2_500_000, 1200.0, -30.0)
    assert c.sources["record_count"] == "inferred"
    stated = classify(Decision(description="Archive 2.5M rows", record_count=10))
    assert stated.record_count == 10
    assert stated.sources["record_count"] == "stated"


@pytest.mark.parametrize(
    ("description", "read_only"),
    [
        ("Review the access logs for anomalies", True),
        ("Investigate the prod latency spike, no changes", True),
        ("Dry run the deploy of 2.4 against prod", True),
        ("Scan the images for vulnerabilities", True),
        ("Review the PR and merge it", False),
        ("Deploy the hotfix", False),
        ("List the open security advisories; do not change anything", True),
        ("Audit the IAM roles and write up findings without modifying anything", True),
        ("Query the replica for stale carts, read-only", True),
        ("Grant the contractor the read-only group in prod", False),
        ("Put the primary database in read-only mode", False),
        # a changing verb outside the "no changes" clause is a change
        ("Deploy v3 to production and don't change anything else", False),
        ("Purge the archived orders, no code changes", False),
        # look first, then act
        ("Review the diff, then promote the build to production", False),
        ("Check the build and roll out v2", False),
        ("Verify the backup, then restore it over the orders database", False),
        ("Inspect the cluster and shut down the old database", False),
    ],
)
def test_read_only_actions(description: str, read_only: bool) -> None:
    """Looking (a review, a scan, a dry run) is read-only unless a changing verb follows."""
    assert classify(Decision(description=description)).read_only is read_only


def test_read_only_drops_what_changes_nothing() -> None:
    """A read-only look at production is neither critical nor a deletion, and carries little risk."""
    look = classify(Decision(description="Investigate the slow prod queries on old rows, no changes"))
    act = classify(Decision(description="Purge rows in prod"))
    assert look.deletion is False
    assert look.criticality == 0.3
    assert risk_of(look)[0] < risk_of(act)[0] / 2


def test_cosmetic_work_on_a_login_page_is_not_security() -> None:
    """Weak security words in cosmetic work do not make it security-sensitive."""
    c = classify(Decision(description="Adjust the padding on the login form"))
    assert not c.security_sensitive
    assert c.type is not DecisionType.SECURITY


@pytest.mark.parametrize(
    ("fields", "factors"),
    [
        ({"environment": "production"}, {"production": 0.9}),
        ({"type": "security"}, {"security": 1.0}),
        ({"estimated_cost": 5000}, {"financial": 0.5}),
        ({"estimated_cost": 50}, {}),
        ({"involves_data_deletion": True}, {"data_loss": 0.95}),
        ({"affects_compliance": True}, {"compliance": 0.85}),
    ],
)
def test_criticality_factors(fields: dict[str, object], factors: dict[str, float]) -> None:
    """Each seed 004 factor is present with its score; none present gives 0.3."""
    c = classify(Decision.model_validate({"description": "Do the thing", **fields}))
    assert dict(c.criticality_factors) == factors
    expected = (
        sum(CRITICALITY_WEIGHTS[k] * v for k, v in factors.items()) / sum(CRITICALITY_WEIGHTS[k] for k in factors)
        if factors
        else 0.3
    )
    assert c.criticality == pytest.approx(expected, abs=1e-4)


def test_criticality_is_the_seed_weighted_mean() -> None:
    """Production and security together: (0.3·0.9 + 0.25·1.0) / 0.55."""
    c = classify(Decision(description="Do the thing", environment=Environment.PRODUCTION, type=DecisionType.SECURITY))
    assert c.criticality == pytest.approx((0.3 * 0.9 + 0.25 * 1.0) / 0.55, abs=1e-4)
    assert c.priority is Priority.CRITICAL


@settings(max_examples=60, deadline=None)
@given(
    production=st.booleans(),
    deletion=st.booleans(),
    breaking=st.booleans(),
    compliance=st.booleans(),
    irreversible=st.booleans(),
    records=st.integers(0, 10**7),
    cost=st.floats(0, 1e6),
)
def test_adding_a_risky_fact_never_lowers_risk_or_importance(
    production: bool, deletion: bool, breaking: bool, compliance: bool, irreversible: bool, records: int, cost: float
) -> None:
    """Risk and importance are monotone: turning on one more risky fact never lowers them."""
    base = {
        "environment": Environment.PRODUCTION if production else Environment.DEVELOPMENT,
        "involves_data_deletion": deletion,
        "breaking_change": breaking,
        "affects_compliance": compliance,
        "reversible": not irreversible,
        "record_count": records,
        "estimated_cost": cost,
    }
    before = classify(Decision.model_validate({"description": "Do the thing", **base}))
    for key, riskier in (
        ("environment", Environment.PRODUCTION),
        ("breaking_change", True),
        ("affects_compliance", True),
        ("reversible", False),
        ("estimated_cost", cost + 500),
        ("record_count", records * 10 + 10),
    ):
        after = classify(Decision.model_validate({"description": "Do the thing", **base, key: riskier}))
        assert risk_of(after)[0] >= risk_of(before)[0] - 1e-12, key
        assert after.importance >= before.importance - 1e-12, key


def test_category_lists_the_indicators_that_fired() -> None:
    """Strategic and tactical indicators are named; the 1.5× rule decides the category."""
    strategic = classify(
        Decision(
            description="Redesign the platform architecture for the long term",
            breaking_change=True,
            affected_systems=("a", "b", "c"),
        )
    )
    assert strategic.category == "strategic"
    assert {"architecture_change", "breaking_change", "cross_system"} <= set(strategic.strategic_indicators)
    tactical = classify(Decision(description="Fix the crash in the date parser", affected_files=("date.py",)))
    assert tactical.category == "tactical"
    assert {"bug_fix", "single_component", "reversible"} <= set(tactical.tactical_indicators)


def test_urgent_or_critical_cannot_wait_for_a_batch() -> None:
    """Urgent and critical decisions are not batchable, routine ones are."""
    assert not classify(Decision(description="Urgent: restart the stuck queue consumer")).batchable
    assert not classify(Decision(description="Rotate the JWT signing keys")).batchable
    assert classify(Decision(description="Tidy the changelog")).batchable


def test_scope_from_text_and_counts() -> None:
    """Scope is read from words first, then from how many systems and files are touched."""
    assert classify(Decision(description="Change the retry policy across all services")).scope is Scope.SYSTEM_WIDE
    assert classify(Decision(description="Change x", affected_systems=("a", "b", "c"))).scope is Scope.SYSTEM_WIDE
    assert classify(Decision(description="Change x", affected_files=("a.py",))).scope is Scope.LOCAL
    unknown = classify(Decision(description="Change x"))
    assert unknown.scope is Scope.COMPONENT
    assert unknown.sources["scope"] == "default"


@pytest.mark.parametrize(("importance", "level"), [(0.0, "low"), (0.3, "medium"), (0.6, "high"), (0.85, "critical")])
def test_impact_levels(importance: float, level: str) -> None:
    """Importance maps to an impact level at 0.3, 0.6 and 0.85."""
    assert impact_level(importance).value == level


def test_to_dict_is_json_ready() -> None:
    """The classification serialises to plain JSON types."""
    c = classify(Decision(description="Purge 3,000 rows in prod"))
    assert json.loads(json.dumps(c.to_dict()))["deletion"] is True


@pytest.mark.parametrize(
    ("description", "breaking"),
    [
        ("Ship a breaking API update for the v3 clients", True),
        ("Rename the `total` field returned to partner clients", True),
        ("Fix the test that keeps breaking the nightly build", False),
        ("Enable the new linter rule and fix whatever breaks", False),
    ],
)
def test_breaking_change_is_about_contracts_not_builds(description: str, breaking: bool) -> None:
    """A breaking change breaks what others rely on; a broken build is a bug."""
    assert classify(Decision(description=description)).breaking_change is breaking


@pytest.mark.parametrize(
    ("description", "sensitive"),
    [
        ("Fix the memory leak in the PDF worker", False),
        ("Rotate the token that leaked into the CI logs", True),
        ("Stop the service from leaking customer data to the logs", True),
    ],
)
def test_a_leak_is_security_when_secrets_or_data_leak(description: str, sensitive: bool) -> None:
    """Memory leaks are bugs; leaked tokens and data are security incidents."""
    assert classify(Decision(description=description)).security_sensitive is sensitive


@pytest.mark.parametrize(
    "description",
    ["Run DELETE FROM users WHERE created_at < '2020-01-01'", "Delete from customers where last_login is null"],
)
def test_sql_style_deletion(description: str) -> None:
    """``DELETE FROM <table>`` deletes what the table holds."""
    assert classify(Decision(description=description)).deletion


@pytest.mark.parametrize(
    ("description", "slower"),
    [
        ("Enable tracing, which increases p99 latency by 40%", -40.0),
        ("Expect a 30% increase in response time", -30.0),
        ("Throughput drops by 50% while it runs", -50.0),
    ],
)
def test_slow_down_wordings(description: str, slower: float) -> None:
    """Slow-downs are read however they are worded."""
    assert classify(Decision(description=description)).performance_impact == slower


@pytest.mark.parametrize("description", ["Make the S3 bucket public", "Give everyone write access to the deploy repo"])
def test_exposure_is_security(description: str) -> None:
    """Making things public or giving everyone access is security-sensitive."""
    assert classify(Decision(description=description)).security_sensitive


@pytest.mark.parametrize(
    "description", ["Rename a local variable in the auth module", "Rename the `password` local variable to `pw`"]
)
def test_renaming_a_local_is_not_security(description: str) -> None:
    """A local rename near security words is not a security change."""
    assert not classify(Decision(description=description)).security_sensitive


def test_a_long_description_is_classified() -> None:
    """A description at the length limit is classified (each cue is tried once per position)."""
    c = classify(Decision(description="remove the thing " * 1176))
    assert c.type is not None


def test_weight_tables_cover_every_case() -> None:
    """Every type, scope and category has an importance weight, every type but general a tie-break rank."""
    assert set(_classify_scores.TYPE_IMPORTANCE) == set(DecisionType)
    assert set(_classify_facts.TYPE_ORDER) == set(DecisionType) - {DecisionType.GENERAL}
    assert set(_classify_scores.SCOPE_IMPORTANCE) == set(Scope)
    assert set(_classify_scores.CATEGORY_IMPORTANCE) == set(get_args(Category))
    assert {*_classify_scores.CRITICALITY_SCORES, "financial"} == set(CRITICALITY_WEIGHTS)


def _with(table: str, key: object, value: float) -> dict[object, float]:
    """``table`` of the scoring step with ``key`` weighing ``value``."""
    return {**getattr(_classify_scores, table), key: value}


def _thing(**fields: Any) -> dict[str, Any]:
    """A decision whose description says nothing: only ``fields`` count."""
    return {"description": "Do the thing", **fields}


_MIXED = {"description": "Change the retry policy across all services"}  # strategic 0.25, tactical 0.3
_TIE = {"description": "Change x", "affected_files": ("migrations/001.sql", "deploy/k8s.yaml")}  # data = deployment
#: (named weight, another value, a decision it weighs in, the field it changes)
WEIGHTS: list[tuple[str, object, dict[str, Any], str]] = [
    # the type
    ("VERB_POSITION_BOOST", 1.0, {"description": "Deploy the hotfix"}, "type_scores"),
    ("PATH_HINT", 0.0, {"description": "Change x", "affected_files": ("src/auth/login.py",)}, "type"),
    ("COSMETIC_SECURITY_DAMPING", 1.0, {"description": "Fix the typo on the password page"}, "type_scores"),
    ("MIN_TYPE_SCORE", 10.0, {"description": "Deploy the hotfix"}, "type"),
    ("SECURITY_SENSITIVE_STRENGTH", 2.0, {"description": "Deploy the credential rotation"}, "security_sensitive"),
    ("TYPE_ORDER", tuple(reversed(_classify_facts.TYPE_ORDER)), _TIE, "type"),
    # criticality
    (
        "CRITICALITY_WEIGHTS",
        _with("CRITICALITY_WEIGHTS", "production", 0.9),
        _thing(environment="production", type="security"),
        "criticality",
    ),
    (
        "CRITICALITY_SCORES",
        _with("CRITICALITY_SCORES", "production", 0.5),
        _thing(environment="production"),
        "criticality",
    ),
    ("FINANCIAL_FROM_USD", 10_000, _thing(estimated_cost=5000.0), "criticality"),
    ("FINANCIAL_FULL_USD", 5000, _thing(estimated_cost=2500.0), "criticality"),
    ("NO_CRITICALITY", 0.5, _thing(), "criticality"),
    # category
    ("STRATEGIC_WEIGHTS", _with("STRATEGIC_WEIGHTS", "policy_change", 0.5), _MIXED, "category"),
    ("TACTICAL_WEIGHTS", _with("TACTICAL_WEIGHTS", "configuration", 0.5), _MIXED, "category"),
    ("CATEGORY_MARGIN", 1.0, _MIXED, "category"),
    # importance
    ("FACTOR_IMPORTANCE", 0.1, _thing(environment="production"), "importance"),
    ("SCOPE_IMPORTANCE", _with("SCOPE_IMPORTANCE", Scope.SYSTEM_WIDE, 0.0), _thing(scope="system_wide"), "importance"),
    ("BREAKING_IMPORTANCE", 0.0, _thing(breaking_change=True), "importance"),
    ("IRREVERSIBLE_IMPORTANCE", 0.0, _thing(reversible=False), "importance"),
    ("EXTRA_SYSTEM_IMPORTANCE", 0.3, _thing(affected_systems=("a", "b")), "importance"),
    ("MAX_SYSTEMS_IMPORTANCE", 0.2, _thing(affected_systems=tuple("abcde")), "importance"),
    ("RECORDS_IMPORTANCE", 0.1, _thing(record_count=1000), "importance"),
    ("RECORDS_FULL_MAGNITUDE", 3, _thing(record_count=1000), "importance"),
    ("COST_IMPORTANCE", 0.1, _thing(estimated_cost=500.0), "importance"),
    ("COST_FULL_USD", 2000, _thing(estimated_cost=500.0), "importance"),
    ("SLOW_DOWN_IMPORTANCE", 0.1, _thing(performance_impact=-20.0), "importance"),
    ("SLOW_DOWN_FULL_PERCENT", 20, _thing(performance_impact=-10.0), "importance"),
    ("CATEGORY_IMPORTANCE", _with("CATEGORY_IMPORTANCE", "mixed", 0.5), _MIXED, "importance"),
    ("TYPE_IMPORTANCE", _with("TYPE_IMPORTANCE", DecisionType.DATA, 0.9), _thing(type="data"), "importance"),
    ("MONEY_IMPORTANCE", 0.0, {"description": "Refund the invoice payments"}, "importance"),
]


@pytest.mark.parametrize(("name", "value", "fields", "field"), WEIGHTS, ids=[w[0] for w in WEIGHTS])
def test_classify_weighs_with_the_named_weights(
    monkeypatch: pytest.MonkeyPatch, name: str, value: object, fields: dict[str, Any], field: str
) -> None:
    """Changing a named weight changes what classify scores: no copy of the number is left inline."""
    decision = Decision.model_validate(fields)
    before = getattr(classify(decision), field)
    monkeypatch.setattr(_classify_facts if hasattr(_classify_facts, name) else _classify_scores, name, value)
    assert getattr(classify(decision), field) != before


def test_every_named_weight_is_tested() -> None:
    """Each constant the two step modules define (not the cue lists they import) has a case above."""
    named = {
        name
        for module in (_classify_facts, _classify_scores)
        for name in vars(module)
        if name.isupper() and not name.startswith("_") and name not in lexicon.__all__
    }
    assert named == {w[0] for w in WEIGHTS}


@pytest.mark.parametrize(
    ("stated", "found", "shows", "value", "source"),
    [
        (None, ["irreversible"], False, False, "inferred"),
        (None, [], False, True, "default"),
        (True, ["irreversible"], False, True, "stated"),
        (None, ["deletes"], True, True, "inferred"),
        (None, [], True, False, "default"),
        (False, ["deletes"], True, False, "stated"),
    ],
)
def test_a_flag_is_stated_else_shown_else_the_opposite(
    stated: bool | None, found: list[str], shows: bool, value: bool, source: str
) -> None:
    """A yes/no field: the stated value wins; phrases found show ``shows`` (and are its evidence); else the opposite."""
    pick = Resolver()
    assert pick.flag("f", stated, found, shows=shows) is value
    assert pick.sources == {"f": source}
    assert pick.evidence == ({"f": tuple(found)} if source == "inferred" else {})
