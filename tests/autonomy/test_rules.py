"""Escalation rules: the built-in rules, operators per field kind, combinators, and rule files in TOML and YAML."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.autonomy import (
    BUILTIN_RULES,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_RULES,
    Priority,
    RuleSet,
    Scope,
    load_rules,
    parse_condition,
)
from escalade.exceptions import RuleError

LEVELS = ["low", "medium", "high", "critical"]
NEGATIVE_OPS = {"ne", "not_in", "not_contains"}


def _fired(facts: Mapping[str, Any], rules: RuleSet | None = None) -> list[str]:
    return [hit.name for hit in (rules or RuleSet.builtin()).evaluate(facts)]


def _holds(field: str, op: str, value: Any, actual: Any) -> bool:
    return parse_condition({"field": field, "op": op, "value": value}).holds({field: actual})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- built-in rules ---------------------------------------------------------------------------------------------


def test_builtin_rules_are_the_nine_of_seed_004() -> None:
    """The nine built-in rules exist, in order, are marked built-in and carry their priorities."""
    assert {r.name: r.priority.value for r in BUILTIN_RULES} == {
        "production_deployment": "high",
        "security_change": "critical",
        "data_deletion": "high",
        "high_cost": "medium",
        "architecture_change": "high",
        "breaking_change": "high",
        "compliance": "critical",
        "performance_impact": "medium",
        "unusual_pattern": "low",
    }
    assert all(r.builtin for r in BUILTIN_RULES)
    assert RuleSet.builtin().names() == tuple(r.name for r in BUILTIN_RULES)


@pytest.mark.parametrize(
    ("rule", "facts", "fires"),
    [
        ("production_deployment", {"type": "deployment", "environment": "production"}, True),
        ("production_deployment", {"type": "deployment", "environment": "production", "read_only": False}, True),
        ("production_deployment", {"type": "deployment", "environment": "staging"}, False),
        ("production_deployment", {"type": "deployment", "environment": None}, False),
        ("production_deployment", {"type": "deployment"}, False),
        ("production_deployment", {"type": "deployment", "environment": "production", "read_only": True}, False),
        ("production_deployment", {"type": "configuration", "environment": "production"}, False),
        # a stated type does not hide what the description says
        (
            "production_deployment",
            {"type": "maintenance", "described_type": "deployment", "environment": "production"},
            True,
        ),
        ("security_change", {"type": "security", "impact": "high"}, True),
        ("security_change", {"type": "security", "impact": "critical"}, True),
        ("security_change", {"type": "security", "impact": "medium"}, False),
        ("security_change", {"type": "security", "impact": None}, False),
        ("security_change", {"type": "configuration", "security_sensitive": True, "impact": "high"}, True),
        ("security_change", {"type": "configuration", "security_sensitive": False, "impact": "critical"}, False),
        ("security_change", {"type": "security", "impact": "critical", "read_only": True}, False),
        ("data_deletion", {"involves_data_deletion": True, "record_count": 1001}, True),
        ("data_deletion", {"involves_data_deletion": True, "record_count": 1000}, False),
        ("data_deletion", {"involves_data_deletion": False, "record_count": 5000}, False),
        ("data_deletion", {"involves_data_deletion": True, "record_count": None}, True),  # unknown: ask
        ("data_deletion", {"involves_data_deletion": None, "record_count": 5000}, False),
        ("high_cost", {"estimated_cost": 100.01}, True),
        ("high_cost", {"estimated_cost": 100}, False),
        ("high_cost", {"estimated_cost": None}, False),
        ("architecture_change", {"type": "architecture", "scope": "system-wide"}, True),
        ("architecture_change", {"type": "architecture", "scope": "component"}, False),
        ("architecture_change", {"type": "architecture", "scope": None}, False),
        ("architecture_change", {"type": "architecture", "scope": "system-wide", "read_only": True}, False),
        ("architecture_change", {"type": "deployment", "scope": "system-wide"}, False),
        ("architecture_change", {"type": "general", "described_type": "architecture", "scope": "system-wide"}, True),
        ("security_change", {"type": "fix", "described_type": "security", "impact": "high"}, True),
        ("breaking_change", {"breaking_change": True}, True),
        ("breaking_change", {"breaking_change": False}, False),
        ("breaking_change", {"breaking_change": None}, False),
        ("compliance", {"affects_compliance": True}, True),
        ("compliance", {"affects_compliance": False}, False),
        ("compliance", {}, False),
        ("performance_impact", {"performance_impact": -20.5}, True),
        ("performance_impact", {"performance_impact": -20}, False),
        ("performance_impact", {"performance_impact": 15}, False),
        ("performance_impact", {"performance_impact": None}, False),
        ("unusual_pattern", {"is_unusual": True, "confidence": 0.69}, True),
        ("unusual_pattern", {"is_unusual": True, "confidence": 0.7}, False),
        ("unusual_pattern", {"is_unusual": False, "confidence": 0.1}, False),
        ("unusual_pattern", {"is_unusual": True, "confidence": None}, False),
        ("unusual_pattern", {"is_unusual": None, "confidence": 0.1}, False),
    ],
)
def test_builtin_rule_fires_only_on_its_facts(rule: str, facts: dict[str, Any], fires: bool) -> None:
    """Each built-in rule fires on the facts it is about and not on close negatives or unknown facts."""
    assert (rule in _fired(facts)) is fires


def test_hits_come_most_urgent_first() -> None:
    """Hits are ordered by priority (critical first), ties in rule order, each with its reason."""
    facts = {
        "is_unusual": True,
        "confidence": 0.1,
        "estimated_cost": 500,
        "breaking_change": True,
        "affects_compliance": True,
        "type": "deployment",
        "environment": "production",
    }
    hits = RuleSet.builtin().evaluate(facts)
    assert [h.name for h in hits] == [
        "compliance",
        "production_deployment",
        "breaking_change",
        "high_cost",
        "unusual_pattern",
    ]
    assert hits[0].priority is Priority.CRITICAL
    assert hits[0].reason == "Compliance decisions need a person and documentation"


def test_no_facts_fire_no_rule() -> None:
    """With nothing known, no built-in rule fires."""
    assert _fired({}) == []


# --- operators --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "op", "value", "actual", "expected"),
    [
        # number
        ("estimated_cost", "eq", 5, 5.0, True),
        ("estimated_cost", "eq", 5, 6, False),
        ("estimated_cost", "ne", 5, 6, True),
        ("estimated_cost", "lt", 5, 4.99, True),
        ("estimated_cost", "lt", 5, 5, False),
        ("estimated_cost", "le", 5, 5, True),
        ("estimated_cost", "gt", 5, 5, False),
        ("estimated_cost", "ge", 5, 5, True),
        ("record_count", "in", [1, 2], 2, True),
        ("record_count", "in", [1, 2], 3, False),
        ("record_count", "not_in", [1, 2], 3, True),
        # bool
        ("read_only", "eq", True, True, True),
        ("read_only", "eq", True, False, False),
        ("read_only", "ne", True, False, True),
        ("read_only", "ne", False, False, False),
        # enum (the rule's value is case-insensitive)
        ("environment", "eq", "production", "production", True),
        ("environment", "eq", "Production", "production", True),
        ("environment", "eq", "production", "staging", False),
        ("environment", "ne", "production", "staging", True),
        ("type", "in", ["data", "architecture"], "data", True),
        ("type", "in", ["data", "architecture"], "fix", False),
        ("type", "not_in", ["data", "architecture"], "fix", True),
        ("category", "eq", "strategic", "strategic", True),
        # ordinal: impact and priority (low < medium < high < critical), scope (local < component < system-wide)
        ("impact", "gt", "medium", "high", True),
        ("impact", "gt", "medium", "medium", False),
        ("impact", "ge", "medium", "medium", True),
        ("impact", "lt", "medium", "low", True),
        ("impact", "le", "medium", "critical", False),
        ("impact", "eq", "high", "high", True),
        ("impact", "ne", "high", "low", True),
        ("priority", "ge", "high", "critical", True),
        ("priority", "lt", "high", "critical", False),
        ("priority", "eq", "high", Priority.HIGH, True),
        ("priority", "in", ["low", "critical"], "critical", True),
        ("priority", "not_in", ["low", "critical"], "medium", True),
        ("scope", "lt", "system-wide", "component", True),
        ("scope", "gt", "local", "local", False),
        ("scope", "gt", "local", "component", True),
        ("scope", "eq", "system-wide", Scope.SYSTEM_WIDE, True),
        ("scope", "in", ["local", "component"], "system-wide", False),
        # list: contains, case-insensitive on both sides
        ("affected_files", "contains", "src/App.py", ["docs/x.md", "SRC/app.py"], True),
        ("affected_files", "contains", "src/app.py", ["src/app.pyc"], False),
        ("affected_files", "not_contains", "src/app.py", ["docs/x.md"], True),
        ("affected_systems", "contains", "billing", ("auth", "Billing"), True),
        # text: contains and eq, case-insensitive
        ("description", "contains", "Drop Table", "please DROP TABLE users", True),
        ("description", "contains", "drop table", "drop the table", False),
        ("description", "not_contains", "drop table", "rename a column", True),
        ("description", "not_contains", "drop table", "DROP TABLE x", False),
        ("agent", "eq", "Bot-1", "bot-1", True),
        ("agent", "in", ["bot-1", "bot-2"], "BOT-2", True),
        ("workspace", "ne", "prod-team", "dev-team", True),
    ],
)
def test_operator_on_field_kind(field: str, op: str, value: Any, actual: Any, expected: bool) -> None:
    """Each operator compares a known fact by its field's kind (numbers, bools, enums, orders, lists, text)."""
    assert _holds(field, op, value, actual) is expected


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("record_count", "eq", 5),
        ("record_count", "ne", 5),
        ("record_count", "lt", 5),
        ("record_count", "le", 5),
        ("record_count", "gt", 5),
        ("record_count", "ge", 5),
        ("record_count", "in", [5]),
        ("record_count", "not_in", [5]),
        ("read_only", "eq", False),
        ("read_only", "ne", True),
        ("environment", "eq", "production"),
        ("environment", "ne", "production"),
        ("environment", "in", ["production"]),
        ("environment", "not_in", ["production"]),
        ("impact", "lt", "high"),
        ("impact", "ge", "low"),
        ("impact", "ne", "high"),
        ("impact", "not_in", ["high"]),
        ("affected_files", "contains", "a.py"),
        ("affected_files", "not_contains", "a.py"),
        ("description", "contains", "x"),
        ("description", "not_contains", "x"),
        ("description", "eq", "x"),
    ],
)
def test_unknown_fact_fails_every_comparison_but_negative_ones(field: str, op: str, value: Any) -> None:
    """A fact that is None or absent makes every comparison false except ne, not_in and not_contains."""
    condition = parse_condition({"field": field, "op": op, "value": value})
    assert condition.holds({field: None}) is (op in NEGATIVE_OPS)
    assert condition.holds({}) is (op in NEGATIVE_OPS)


# --- combinators, property-tested against plain Python ---------------------------------------------------------

_NUMBERS = [0, 50, 100, 150]
_ENVIRONMENTS = ["production", "staging", "development"]
_FILES = ["src/A.py", "b.py"]
_TEXTS = ["Drop the TABLE now", "rename a variable", ""]


def _leaf(field: str, ops: list[str], scalar: st.SearchStrategy[Any], list_ops: list[str]) -> st.SearchStrategy[Any]:
    scalar_leaf = st.tuples(st.sampled_from(ops), scalar)
    choices = [scalar_leaf]
    if list_ops:
        choices.append(st.tuples(st.sampled_from(list_ops), st.lists(scalar, min_size=1, max_size=3)))
    return st.one_of(choices).map(lambda t: {"field": field, "op": t[0], "value": t[1]})


_ORDER = ["eq", "ne", "lt", "le", "gt", "ge"]
_LEAVES: st.SearchStrategy[Any] = st.one_of(
    _leaf("estimated_cost", _ORDER, st.sampled_from(_NUMBERS), ["in", "not_in"]),
    _leaf("breaking_change", ["eq", "ne"], st.booleans(), []),
    _leaf("environment", ["eq", "ne"], st.sampled_from(_ENVIRONMENTS), ["in", "not_in"]),
    _leaf("impact", _ORDER, st.sampled_from(LEVELS), ["in", "not_in"]),
    _leaf("affected_files", ["contains", "not_contains"], st.sampled_from(["src/a.py", "B.PY", "c.py"]), []),
    _leaf("description", ["contains", "not_contains"], st.sampled_from(["table", "TABLE", "Rename"]), []),
)
_FACTS = st.fixed_dictionaries(
    {
        "estimated_cost": st.none() | st.sampled_from(_NUMBERS) | st.floats(-10, 200),
        "breaking_change": st.none() | st.booleans(),
        "environment": st.none() | st.sampled_from(_ENVIRONMENTS),
        "impact": st.none() | st.sampled_from(LEVELS),
        "affected_files": st.none() | st.lists(st.sampled_from(_FILES), max_size=2),
        "description": st.none() | st.sampled_from(_TEXTS),
    }
)


def _trees(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return _LEAVES
    sub = _trees(depth - 1)
    return st.one_of(
        _LEAVES,
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        sub.map(lambda x: {"not": x}),
    )


def _expected_leaf(field: str, op: str, value: Any, facts: Mapping[str, Any]) -> bool:
    """A comparison written out plainly for the fields the property uses."""
    actual: Any = facts.get(field)
    if actual is None:
        return op in NEGATIVE_OPS
    if field == "impact":
        actual = LEVELS.index(actual)
        value = [LEVELS.index(v) for v in value] if isinstance(value, list) else LEVELS.index(value)
    if op == "contains":
        return value.lower() in (actual.lower() if isinstance(actual, str) else [a.lower() for a in actual])
    if op == "not_contains":
        return not _expected_leaf(field, "contains", value, facts)
    results: dict[str, Callable[[], object]] = {
        "eq": lambda: actual == value,
        "ne": lambda: actual != value,
        "lt": lambda: actual < value,
        "le": lambda: actual <= value,
        "gt": lambda: actual > value,
        "ge": lambda: actual >= value,
        "in": lambda: actual in value,
        "not_in": lambda: actual not in value,
    }
    return bool(results[op]())


def _expected(node: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    if "all" in node:
        return all(_expected(child, facts) for child in node["all"])
    if "any" in node:
        return any(_expected(child, facts) for child in node["any"])
    if "not" in node:
        return not _expected(node["not"], facts)
    return _expected_leaf(node["field"], node["op"], node["value"], facts)


@settings(max_examples=400, deadline=None)
@given(tree=_trees(4), facts=_FACTS)
def test_combinators_evaluate_like_python(tree: dict[str, Any], facts: dict[str, Any]) -> None:
    """Any tree of all/any/not over comparisons holds exactly when the same Python boolean expression is true."""
    assert parse_condition(tree).holds(facts) is _expected(tree, facts)


# --- rule files -------------------------------------------------------------------------------------------------

TOML_RULES = """
disable = ["high_cost"]

[[rules]]
name = "prod_database_writes"
priority = "high"
reason = "Production data changes need a DBA"
when = { all = [
    { field = "environment", op = "eq", value = "production" },
    { field = "type", op = "in", value = ["data", "architecture"] },
] }
"""

YAML_RULES = """
disable: [high_cost]
rules:
  - name: prod_database_writes
    priority: high
    reason: Production data changes need a DBA
    when:
      all:
        - {field: environment, op: eq, value: production}
        - {field: type, op: in, value: [data, architecture]}
"""


@pytest.mark.parametrize(("filename", "text"), [("rules.toml", TOML_RULES), ("rules.yaml", YAML_RULES)])
def test_rule_file_adds_and_disables_rules(tmp_path: Path, filename: str, text: str) -> None:
    """A TOML or YAML rule file adds its rules after the built-ins and switches off the disabled ones."""
    rules = load_rules(_write(tmp_path, filename, text))
    expected = (*(r.name for r in BUILTIN_RULES if r.name != "high_cost"), "prod_database_writes")
    assert rules.names() == expected
    hits = rules.evaluate({"environment": "production", "type": "data", "estimated_cost": 10_000})
    assert [(h.name, h.priority, h.reason) for h in hits] == [
        ("prod_database_writes", Priority.HIGH, "Production data changes need a DBA")
    ]


def test_rule_file_replaces_builtin_by_name(tmp_path: Path) -> None:
    """A rule named like a built-in replaces it in place and is no longer marked built-in."""
    path = _write(
        tmp_path,
        "rules.yml",
        "rules:\n  - name: high_cost\n    priority: high\n    when: {field: estimated_cost, op: gt, value: 500}\n",
    )
    rules = load_rules(path)
    assert rules.names() == RuleSet.builtin().names()
    (replaced,) = (r for r in rules.rules if r.name == "high_cost")
    assert not replaced.builtin
    assert replaced.priority is Priority.HIGH
    assert replaced.reason == "rule high_cost matched"
    assert "high_cost" not in _fired({"estimated_cost": 200}, rules)
    assert "high_cost" in _fired({"estimated_cost": 600}, rules)


def test_rule_file_without_builtins(tmp_path: Path) -> None:
    """include_builtin = false keeps only the file's rules; priority defaults to medium."""
    path = _write(
        tmp_path,
        "rules.toml",
        'include_builtin = false\n[[rules]]\nname = "mine"\nwhen = { field = "urgent", op = "eq", value = true }\n',
    )
    rules = load_rules(path)
    assert rules.names() == ("mine",)
    assert [(h.name, h.priority) for h in rules.evaluate({"urgent": True})] == [("mine", Priority.MEDIUM)]
    assert _fired({"affects_compliance": True}, rules) == []


def test_rule_files_apply_in_turn_on_a_base(tmp_path: Path) -> None:
    """Several files apply one after another on the given base; no file keeps the built-ins."""
    first = _write(tmp_path, "a.toml", 'disable = ["compliance"]\n')
    second = _write(tmp_path, "b.yaml", "disable: [breaking_change]\n")
    rules = load_rules([first, second])
    assert "compliance" not in rules.names()
    assert "breaking_change" not in rules.names()
    assert len(rules.names()) == len(BUILTIN_RULES) - 2
    base = RuleSet(r for r in BUILTIN_RULES if r.name == "compliance")
    assert load_rules(None, base=base) is base
    assert load_rules(None).names() == RuleSet.builtin().names()


def test_empty_yaml_file_changes_nothing(tmp_path: Path) -> None:
    """An empty YAML rule file leaves the built-in rules as they are."""
    assert load_rules(_write(tmp_path, "rules.yaml", "")).names() == RuleSet.builtin().names()


def _rule(when: str, *, name: str = "mine", extra: str = "") -> str:
    return f'[[rules]]\nname = "{name}"\n{extra}when = {when}\n'


_OK_WHEN = '{ field = "urgent", op = "eq", value = true }'


@pytest.mark.parametrize(
    ("text", "rule", "reason"),
    [
        (_rule('{ field = "enviroment", op = "eq", value = "production" }'), "mine", "unknown field 'enviroment'"),
        (_rule('{ field = "environment", op = "equals", value = "production" }'), "mine", "operator 'equals'"),
        (_rule('{ field = "read_only", op = "lt", value = true }'), "mine", "'lt' does not apply to read_only (bool)"),
        (_rule('{ field = "affected_files", op = "eq", value = "a" }'), "mine", "does not apply to affected_files"),
        (_rule('{ field = "description", op = "gt", value = "a" }'), "mine", "does not apply to description (text)"),
        (_rule('{ field = "record_count", op = "gt", value = "1000" }'), "mine", "record_count is a number"),
        (_rule('{ field = "record_count", op = "gt", value = true }'), "mine", "record_count is a number"),
        (_rule('{ field = "read_only", op = "eq", value = "yes" }'), "mine", "read_only is true or false"),
        (_rule('{ field = "environment", op = "eq", value = 3 }'), "mine", "environment takes a string"),
        (_rule('{ field = "type", op = "in", value = "data" }'), "mine", "value must be a non-empty list"),
        (_rule('{ field = "type", op = "in", value = [] }'), "mine", "value must be a non-empty list"),
        (_rule('{ field = "environment", op = "eq", value = "prod" }'), "mine", "environment is one of"),
        (_rule('{ field = "impact", op = "gt", value = "huge" }'), "mine", "impact is one of low, medium, high"),
        (_rule('{ field = "type", op = "in", value = ["data", "dta"] }'), "mine", "got 'dta'"),
        (_rule('{ field = "urgent", op = "eq" }'), "mine", "a condition needs 'value'"),
        (_rule('{ field = "urgent", op = "eq", value = true, note = "x" }'), "mine", "unknown key 'note'"),
        (_rule("{ all = [] }"), "mine", "'all' needs a non-empty list"),
        (_rule("{ any = [] }"), "mine", "'any' needs a non-empty list"),
        (_rule(f"{{ all = [{_OK_WHEN}], field = 'urgent' }}"), "mine", "'all' must be the only key"),
        (_rule(f"{{ not = {_OK_WHEN}, any = [{_OK_WHEN}] }}"), "mine", "must be the only key"),
        (_rule('"urgent"'), "mine", "a condition must be a table/mapping"),
        ('[[rules]]\nname = "mine"\npriority = "high"\n', "mine", "needs 'when'"),
        (_rule(_OK_WHEN, extra='priority = "urgent"\n'), "mine", "priority is one of low, medium, high, critical"),
        (_rule(_OK_WHEN, extra="priority = 3\n"), "mine", "priority is one of"),
        (_rule(_OK_WHEN, extra="reason = 3\n"), "mine", "reason must be a string"),
        (_rule(_OK_WHEN, extra='condition = "x"\n'), "mine", "unknown key 'condition'"),
        (_rule(_OK_WHEN) + _rule(_OK_WHEN), "mine", "defined twice in this file"),
        ('disable = ["no_such_rule"]\n', "no_such_rule", "cannot disable unknown rule"),
        ('include_builtin = false\ndisable = ["high_cost"]\n', "high_cost", "cannot disable unknown rule"),
        ('disabled = ["high_cost"]\n', None, "unknown top-level key 'disabled'"),
        ('disable = "high_cost"\n', None, "disable must be a list of rule names"),
        ('include_builtin = "no"\n', None, "include_builtin must be true or false"),
        ('rules = { name = "x" }\n', None, "'rules' must be a list"),
        ("rules = [1]\n", None, "rule #1 must be a table"),
        ('[[rules]]\nwhen = { field = "urgent", op = "eq", value = true }\n', None, "needs a non-empty 'name'"),
        ("disable = [\n", None, "not valid TOML"),
        ('[[rules]]\nname = "mine\n', None, "not valid TOML"),
    ],
)
def test_toml_rule_errors_name_file_rule_and_reason(tmp_path: Path, text: str, rule: str | None, reason: str) -> None:
    """Every problem in a TOML rule file is a RuleError naming the file, the rule (when there is one) and why."""
    _assert_rule_error(tmp_path / "rules.toml", text, rule, reason)


def _assert_rule_error(path: Path, text: str, rule: str | None, reason: str) -> None:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert reason in message
    assert caught.value.source == str(path)
    assert caught.value.rule == rule
    if rule is not None:
        assert f"rule {rule!r}" in message


@pytest.mark.parametrize(
    ("text", "rule", "reason"),
    [
        ("rules:\n  - name: mine\n    when: {field: colour, op: eq, value: red}\n", "mine", "unknown field 'colour'"),
        ("rules:\n  - name: mine\n    when: {all: []}\n", "mine", "'all' needs a non-empty list"),
        ("bogus: 1\nrules: []\n", None, "unknown top-level key 'bogus'"),
        ("rules:\n  - name: x\n    when: {field: urgent\n", None, "(line 4)"),
        ("rules:\n  - name: x\n\twhen: 1\n", None, "not valid YAML"),
        ("- just\n- a list\n", None, "must hold a table/mapping at the top"),
    ],
)
def test_yaml_rule_errors_name_file_rule_and_reason(tmp_path: Path, text: str, rule: str | None, reason: str) -> None:
    """Problems in a YAML rule file, malformed YAML included, are RuleErrors naming the file, rule and why."""
    _assert_rule_error(tmp_path / "rules.yaml", text, rule, reason)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    """Malformed YAML is reported as YAML, with the line of the problem."""
    path = _write(tmp_path, "rules.yml", "rules:\n  - name: x\n    when: [1, 2\n")
    with pytest.raises(RuleError, match=r"not valid YAML: .*\(line \d+\)") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(("filename", "reason"), [("rules.json", ".toml, .yaml or .yml"), ("rules.txt", ".toml")])
def test_wrong_suffix_is_refused(tmp_path: Path, filename: str, reason: str) -> None:
    """A rule file that is neither TOML nor YAML by its suffix is refused, naming the file."""
    path = _write(tmp_path, filename, "{}")
    with pytest.raises(RuleError, match=r"must end in \.toml, \.yaml or \.yml") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_missing_file_is_a_rule_error(tmp_path: Path) -> None:
    """A rule file that cannot be read is a RuleError naming the file."""
    path = tmp_path / "nowhere.toml"
    with pytest.raises(RuleError, match="rule file not found") as caught:
        load_rules(path)
    assert caught.value.source == str(path)


def _nested_not(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "urgent", "op": "eq", "value": True}
    for _ in range(levels):
        node = {"not": node}
    return node


def _rule_file(tmp_path: Path, when: dict[str, Any]) -> Path:
    """A YAML rule file (written as JSON, which YAML reads) with one rule named 'deep'."""
    return _write(tmp_path, "rules.yaml", json.dumps({"rules": [{"name": "deep", "when": when}]}))


@pytest.mark.parametrize(
    "when",
    [
        _nested_not(MAX_DEPTH + 1),
        _nested_not(50),
        {"any": [{"field": "urgent", "op": "eq", "value": True}] * (MAX_CONDITIONS + 1)},
    ],
)
def test_too_large_condition_is_refused(tmp_path: Path, when: dict[str, Any]) -> None:
    """A condition nested more than MAX_DEPTH levels, or with too many parts, is refused by name."""
    path = _rule_file(tmp_path, when)
    with pytest.raises(RuleError, match="condition too large") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)
    assert caught.value.rule == "deep"


@pytest.mark.parametrize(
    ("count", "ok"), [(MAX_RULES - len(BUILTIN_RULES), True), (MAX_RULES - len(BUILTIN_RULES) + 1, False)]
)
def test_rule_count_is_bounded(tmp_path: Path, count: int, ok: bool) -> None:
    """Up to MAX_RULES rules (built-ins included) load; one more is refused, naming the file."""
    path = _write(tmp_path, "rules.toml", "".join(_rule(_OK_WHEN, name=f"r{i}") for i in range(count)))
    if ok:
        assert len(load_rules(path).rules) == MAX_RULES
        return
    with pytest.raises(RuleError, match=f"a rule set holds at most {MAX_RULES}") as caught:
        load_rules(path)
    assert caught.value.source == str(path)


def test_condition_at_the_limits_loads(tmp_path: Path) -> None:
    """MAX_DEPTH nested combinators load and evaluate (an even number of nots is the plain comparison)."""
    rules = load_rules(_rule_file(tmp_path, _nested_not(MAX_DEPTH)))
    assert "deep" in _fired({"urgent": True}, rules)
    assert "deep" not in _fired({"urgent": False}, rules)


def test_failed_load_leaves_the_base_unchanged(tmp_path: Path) -> None:
    """A file that fails part-way applies nothing: the base rule set and earlier results are untouched."""
    base = RuleSet.builtin()
    before = base.rules
    good = _write(tmp_path, "good.toml", 'disable = ["compliance"]\n')
    bad = _write(
        tmp_path,
        "bad.toml",
        'disable = ["high_cost"]\n' + _rule(_OK_WHEN, name="ok") + _rule('{ field = "nope", op = "eq", value = 1 }'),
    )
    with pytest.raises(RuleError, match="unknown field 'nope'"):
        load_rules([good, bad], base=base)
    assert base.rules is before
    assert base.names() == tuple(r.name for r in BUILTIN_RULES)
    assert "high_cost" in _fired({"estimated_cost": 500}, base)
    with pytest.raises(RuleError):
        base.with_file({"disable": ["high_cost"], "rules": [{"name": "x"}]}, source="inline")
    assert base.rules is before


def test_yaml_is_read_safely(tmp_path: Path) -> None:
    """A YAML python object tag is refused as invalid YAML and never executed."""
    marker = tmp_path / "executed"
    command = json.dumps(f"touch {shlex.quote(str(marker))}")
    path = _write(tmp_path, "rules.yaml", f"rules: !!python/object/apply:os.system [{command}]\n")
    with pytest.raises(RuleError, match="not valid YAML") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)
    assert not marker.exists()


# --- describe ---------------------------------------------------------------------------------------------------


def test_describe_reads_as_the_rule() -> None:
    """A rule's description names it, its priority, and each field and operator joined by and/or/not."""
    by_name = {r.name: r for r in BUILTIN_RULES}
    assert by_name["data_deletion"].describe() == (
        "data_deletion [high]: (involves_data_deletion eq True and not record_count le 1000)"
    )
    text = by_name["production_deployment"].describe()
    for part in ("production_deployment [high]", "type eq 'deployment'", "environment eq 'production'", " and "):
        assert part in text
    custom = parse_condition(
        {"any": [{"field": "urgent", "op": "eq", "value": True}, {"not": {"field": "agent", "op": "eq", "value": "a"}}]}
    )
    assert custom.describe() == "(urgent eq True or not agent eq 'a')"


@pytest.mark.parametrize(
    ("rule", "part"),
    [("security_change", "impact gt 'medium'"), ("architecture_change", "scope eq 'system-wide'")],
)
def test_describe_names_levels_not_their_rank(rule: str, part: str) -> None:
    """An ordinal comparison is described with the level as written (impact gt 'medium'), not its index."""
    (found,) = (r for r in BUILTIN_RULES if r.name == rule)
    assert part in found.describe()
