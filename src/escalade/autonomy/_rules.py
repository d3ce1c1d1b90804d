"""Escalation rules as data: a field, an operator and a value, combined with ``all``, ``any`` and ``not``.

Rules are never code: nothing in a rule is passed to ``eval`` or ``exec``, and every field, operator
and value is checked when the rule is loaded, so a typo fails at load time with the file, the rule
and the reason, never silently at decision time. A rule file (TOML or YAML) looks like::

    disable = ["high_cost"]                      # built-in rules to switch off

    [[rules]]
    name = "prod_database_writes"                # a new rule; a built-in's name replaces that rule
    priority = "high"                            # low | medium | high | critical
    reason = "Production data changes need a DBA"
    when = { all = [
        { field = "environment", op = "eq", value = "production" },
        { field = "type", op = "in", value = ["data", "architecture"] },
    ] }

Fields are those of :data:`RULE_FIELDS`. Operators: ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``,
``in``, ``not_in``, ``contains``, ``not_contains``. Levels (``impact``, ``priority``) and ``scope``
compare by their order (``impact gt medium`` is high or critical). A field with no value (an
environment nobody stated or implied) makes every comparison false except ``ne`` and ``not_in``.

>>> rules = RuleSet.builtin()
>>> [hit.name for hit in rules.evaluate({"type": "deployment", "environment": "production"})]
['production_deployment']
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from escalade.autonomy._decisions import DecisionType, Environment, Priority, Scope
from escalade.exceptions import RuleError
from escalade.untrusted import Format, read_data

__all__ = [
    "BUILTIN_RULES",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_RULES",
    "RULE_FIELDS",
    "AllOf",
    "AnyOf",
    "Compare",
    "Condition",
    "FieldSpec",
    "NotOf",
    "Rule",
    "RuleHit",
    "RuleSet",
    "load_rules",
    "parse_condition",
]

Kind = Literal["number", "bool", "enum", "ordinal", "list", "text"]


@dataclass(frozen=True)
class FieldSpec:
    """What a rule field holds: its kind and, for enums and ordinals, its values in order."""

    kind: Kind
    values: tuple[str, ...] = ()
    doc: str = ""


_LEVELS = tuple(p.value for p in Priority)

#: The fields a rule may test.
RULE_FIELDS: Mapping[str, FieldSpec] = {
    "type": FieldSpec("enum", tuple(t.value for t in DecisionType), "decision type (stated or inferred)"),
    "described_type": FieldSpec(
        "enum", tuple(t.value for t in DecisionType), "the type the description reads as, whatever was stated"
    ),
    "environment": FieldSpec("enum", tuple(e.value for e in Environment), "stated or inferred; may be unknown"),
    "scope": FieldSpec("ordinal", tuple(s.value for s in Scope), "local < component < system-wide"),
    "involves_data_deletion": FieldSpec("bool", doc="stated or inferred"),
    "record_count": FieldSpec("number", doc="records affected (stated or read from the description); may be unknown"),
    "estimated_cost": FieldSpec("number", doc="USD"),
    "breaking_change": FieldSpec("bool"),
    "affects_compliance": FieldSpec("bool"),
    "performance_impact": FieldSpec("number", doc="percent, negative is worse"),
    "reversible": FieldSpec("bool"),
    "security_sensitive": FieldSpec("bool", doc="credentials, crypto, permissions or vulnerabilities involved"),
    "read_only": FieldSpec("bool", doc="the action only looks (scan, review, dry run)"),
    "money": FieldSpec("bool", doc="payments, invoices, billing or pricing involved"),
    "urgent": FieldSpec("bool"),
    "criticality": FieldSpec("number", doc="0-1, seed 004 weighting"),
    "importance": FieldSpec("number", doc="0-1"),
    "impact": FieldSpec("ordinal", _LEVELS, "importance as a level"),
    "priority": FieldSpec("ordinal", _LEVELS, "the classifier's priority"),
    "category": FieldSpec("enum", ("strategic", "tactical", "mixed")),
    "confidence": FieldSpec("number", doc="the controller's confidence, 0-1"),
    "is_unusual": FieldSpec("bool", doc="unlike this workspace's history"),
    "affected_files": FieldSpec("list"),
    "affected_systems": FieldSpec("list"),
    "file_count": FieldSpec("number"),
    "system_count": FieldSpec("number"),
    "description": FieldSpec("text", doc="contains / not_contains only, case-insensitive"),
    "agent": FieldSpec("text"),
    "workspace": FieldSpec("text"),
}

_ORDER_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_OPS_BY_KIND: Mapping[Kind, frozenset[str]] = {
    "number": frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"}),
    "bool": frozenset({"eq", "ne"}),
    "enum": frozenset({"eq", "ne", "in", "not_in"}),
    "ordinal": frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"}),
    "list": frozenset({"contains", "not_contains"}),
    "text": frozenset({"eq", "ne", "in", "not_in", "contains", "not_contains"}),
}
_NEGATIVE_OPS = frozenset({"ne", "not_in", "not_contains"})
#: Nesting and size limits, so a rule file cannot make evaluation expensive: levels and conditions
#: per rule, and rules in a rule set (the built-ins are 9). Rule files are also at most
#: :data:`~escalade.untrusted.MAX_FILE_BYTES` long.
MAX_DEPTH = 8
MAX_CONDITIONS = 200
MAX_RULES = 500


@dataclass(frozen=True)
class Compare:
    """``field op value``; built only through :func:`parse_condition`, which checks all three."""

    field: str
    op: str
    value: Any

    def holds(self, facts: Mapping[str, Any]) -> bool:
        actual: Any = facts.get(self.field)
        if actual is None:
            return self.op in _NEGATIVE_OPS
        spec = RULE_FIELDS[self.field]
        if spec.kind in ("ordinal", "enum", "text"):
            actual = str(actual).lower()
        if spec.kind == "ordinal":
            actual = spec.values.index(actual) if actual in spec.values else None
            if actual is None:
                return self.op in _NEGATIVE_OPS
        if self.op in _ORDER_OPS:
            return bool(_ORDER_OPS[self.op](actual, self.value))
        if self.op in ("eq", "ne"):
            return bool(actual == self.value) == (self.op == "eq")
        if self.op in ("in", "not_in"):
            return bool(actual in self.value) == (self.op == "in")
        items = [str(a).lower() for a in actual] if spec.kind == "list" else None
        present = self.value in items if items is not None else self.value in actual
        return bool(present) == (self.op == "contains")

    def describe(self) -> str:
        spec = RULE_FIELDS[self.field]
        if spec.kind != "ordinal":
            return f"{self.field} {self.op} {self.value!r}"
        named = [spec.values[v] for v in self.value] if isinstance(self.value, tuple) else spec.values[self.value]
        return f"{self.field} {self.op} {named!r}"


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return all(c.holds(facts) for c in self.conditions)

    def describe(self) -> str:
        return "(" + " and ".join(c.describe() for c in self.conditions) + ")"


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return any(c.holds(facts) for c in self.conditions)

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.conditions) + ")"


@dataclass(frozen=True)
class NotOf:
    condition: Condition

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return not self.condition.holds(facts)

    def describe(self) -> str:
        return f"not {self.condition.describe()}"


Condition = Compare | AllOf | AnyOf | NotOf


def _value_for(spec: FieldSpec, field: str, op: str, value: Any) -> Any:
    """The checked (and, for ordinals, ranked) value of a comparison."""
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            raise RuleError(f"{field} {op}: value must be a non-empty list")
        return tuple(_value_for(spec, field, "eq", v) for v in value)
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleError(f"{field} is a number; got {value!r}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise RuleError(f"{field} is true or false; got {value!r}")
        return value
    if not isinstance(value, str):
        raise RuleError(f"{field} takes a string; got {value!r}")
    if spec.kind in ("enum", "ordinal"):
        if value.lower() not in spec.values:
            raise RuleError(f"{field} is one of {', '.join(spec.values)}; got {value!r}")
        return spec.values.index(value.lower()) if spec.kind == "ordinal" else value.lower()
    return value.lower()


def _compare(node: Mapping[str, Any]) -> Compare:
    unknown = sorted(set(node) - {"field", "op", "value"})
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r} in a condition (use field, op, value, or all/any/not)")
    missing = [k for k in ("field", "op", "value") if k not in node]
    if missing:
        raise RuleError(f"a condition needs {missing[0]!r}")
    field, op = node["field"], node["op"]
    if field not in RULE_FIELDS:
        raise RuleError(f"unknown field {field!r}; the fields are {', '.join(sorted(RULE_FIELDS))}")
    spec = RULE_FIELDS[field]
    allowed = _OPS_BY_KIND[spec.kind]
    if op not in allowed:
        use = ", ".join(sorted(allowed))
        raise RuleError(f"operator {op!r} does not apply to {field} ({spec.kind}); use {use}")
    return Compare(field, op, _value_for(spec, field, op, node["value"]))


def parse_condition(node: Any, *, _depth: int = 0, _count: list[int] | None = None) -> Condition:
    """A condition from its data form (a mapping); raises :class:`~escalade.exceptions.RuleError` with the reason."""
    count = _count if _count is not None else [0]
    count[0] += 1
    if _depth > MAX_DEPTH or count[0] > MAX_CONDITIONS:
        raise RuleError(f"condition too large (at most {MAX_DEPTH} levels and {MAX_CONDITIONS} conditions)")
    if not isinstance(node, Mapping):
        raise RuleError(f"a condition must be a table/mapping, got {type(node).__name__}")
    combinators = [k for k in ("all", "any", "not") if k in node]
    if not combinators:
        return _compare(node)
    if len(node) != 1:
        raise RuleError(f"{combinators[0]!r} must be the only key of its condition")
    key = combinators[0]
    if key == "not":
        return NotOf(parse_condition(node["not"], _depth=_depth + 1, _count=count))
    items = node[key]
    if not isinstance(items, list) or not items:
        raise RuleError(f"{key!r} needs a non-empty list of conditions")
    parsed = tuple(parse_condition(item, _depth=_depth + 1, _count=count) for item in items)
    return AllOf(parsed) if key == "all" else AnyOf(parsed)


@dataclass(frozen=True)
class Rule:
    """When ``when`` holds, the decision escalates (if the profile lets rules of ``priority`` force it)."""

    name: str
    when: Condition
    priority: Priority
    reason: str
    builtin: bool = False

    def describe(self) -> str:
        return f"{self.name} [{self.priority.value}]: {self.when.describe()}"


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired on a decision."""

    name: str
    priority: Priority
    reason: str


_RULE_KEYS = frozenset({"name", "when", "priority", "reason"})


def _rule_from(entry: Any, *, index: int) -> Rule:
    if not isinstance(entry, Mapping):
        raise RuleError(f"rule #{index + 1} must be a table/mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"rule #{index + 1} needs a non-empty 'name'")
    try:
        unknown = sorted(set(entry) - _RULE_KEYS)
        if unknown:
            raise RuleError(f"unknown key {unknown[0]!r}; a rule has {', '.join(sorted(_RULE_KEYS))}")
        if "when" not in entry:
            raise RuleError("needs 'when' (its condition)")
        priority = entry.get("priority", "medium")
        if priority not in _LEVELS:
            raise RuleError(f"priority is one of {', '.join(_LEVELS)}; got {priority!r}")
        reason = entry.get("reason", f"rule {name} matched")
        if not isinstance(reason, str):
            raise RuleError("reason must be a string")
        return Rule(name=name, when=parse_condition(entry["when"]), priority=Priority(priority), reason=reason)
    except RuleError as exc:  # a problem inside the rule: named with the rule
        raise RuleError(exc.message, rule=name) from None


def _c(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _builtin(name: str, priority: str, reason: str, when: Mapping[str, Any]) -> Rule:
    return Rule(name=name, when=parse_condition(when), priority=Priority(priority), reason=reason, builtin=True)


#: The nine rules of seed 004.
BUILTIN_RULES: tuple[Rule, ...] = (
    _builtin(
        "production_deployment",
        "high",
        "Production deployments require approval",
        {
            "all": [
                {"any": [_c("type", "eq", "deployment"), _c("described_type", "eq", "deployment")]},
                _c("environment", "eq", "production"),
                _c("read_only", "ne", True),
            ]
        },
    ),
    _builtin(
        "security_change",
        "critical",
        "Security changes above medium impact require review",
        {
            "all": [
                {
                    "any": [
                        _c("type", "eq", "security"),
                        _c("described_type", "eq", "security"),
                        _c("security_sensitive", "eq", True),
                    ]
                },
                _c("impact", "gt", "medium"),
                _c("read_only", "ne", True),
            ]
        },
    ),
    _builtin(
        "data_deletion",
        "high",
        "Deleting more than 1,000 records (or an unknown number) requires confirmation",
        {"all": [_c("involves_data_deletion", "eq", True), {"not": _c("record_count", "le", 1000)}]},
    ),
    _builtin("high_cost", "medium", "A cost above $100 requires approval", _c("estimated_cost", "gt", 100)),
    _builtin(
        "architecture_change",
        "high",
        "System-wide architecture changes need review",
        {
            "all": [
                {"any": [_c("type", "eq", "architecture"), _c("described_type", "eq", "architecture")]},
                _c("scope", "eq", "system-wide"),
                _c("read_only", "ne", True),
            ]
        },
    ),
    _builtin("breaking_change", "high", "Breaking changes affect consumers", _c("breaking_change", "eq", True)),
    _builtin(
        "compliance",
        "critical",
        "Compliance decisions need a person and documentation",
        _c("affects_compliance", "eq", True),
    ),
    _builtin(
        "performance_impact", "medium", "More than 20% performance degradation", _c("performance_impact", "lt", -20)
    ),
    _builtin(
        "unusual_pattern",
        "low",
        "Unusual for this workspace, and confidence is below 0.7",
        {"all": [_c("is_unusual", "eq", True), _c("confidence", "lt", 0.7)]},
    ),
)


class RuleSet:
    """An ordered set of rules with unique names."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        duplicated = sorted(name for name, n in Counter(r.name for r in self.rules).items() if n > 1)
        if duplicated:
            raise RuleError("defined twice", rule=duplicated[0])

    @classmethod
    def builtin(cls) -> RuleSet:
        return cls(BUILTIN_RULES)

    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules)

    def evaluate(self, facts: Mapping[str, Any]) -> list[RuleHit]:
        """The rules that hold on ``facts``, most urgent first (then in rule order)."""
        hits = [RuleHit(r.name, r.priority, r.reason) for r in self.rules if r.when.holds(facts)]
        return sorted(hits, key=lambda h: -h.priority.rank)

    def with_file(self, data: Mapping[str, Any], *, source: str) -> RuleSet:
        """These rules changed by a rule file's data: disabled, replaced (same name) and added rules."""
        try:
            return _apply(self, data)
        except RuleError as exc:
            raise RuleError(exc.message, source=source, rule=exc.rule) from None


def _apply(base: RuleSet, data: Mapping[str, Any]) -> RuleSet:
    unknown = sorted(set(data) - {"rules", "disable", "include_builtin"})
    if unknown:
        raise RuleError(f"unknown top-level key {unknown[0]!r} (use rules, disable, include_builtin)")
    include = data.get("include_builtin", True)
    if not isinstance(include, bool):
        raise RuleError("include_builtin must be true or false")
    rules = {r.name: r for r in (base.rules if include else ())}
    disable = data.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(n, str) for n in disable):
        raise RuleError("disable must be a list of rule names")
    for name in disable:
        if name not in rules:
            raise RuleError(
                f"cannot disable unknown rule; the rules are {', '.join(sorted(rules)) or 'none'}", rule=name
            )
        del rules[name]
    entries = data.get("rules", [])
    if not isinstance(entries, list):
        raise RuleError("'rules' must be a list of rule tables")
    if len(rules) + len(entries) > MAX_RULES:
        raise RuleError(f"{len(entries)} rules here, {len(rules)} already: a rule set holds at most {MAX_RULES}")
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        rule = _rule_from(entry, index=index)
        if rule.name in seen:
            raise RuleError("defined twice in this file", rule=rule.name)
        seen.add(rule.name)
        rules[rule.name] = rule  # a built-in's name replaces it
    return RuleSet(rules.values())


_FORMATS: dict[str, Format] = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}


def _read(path: Path) -> Mapping[str, Any]:
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise RuleError("a rule file must end in .toml, .yaml or .yml", source=str(path))
    data = read_data(path, kind, what="rule file", error=RuleError)
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise RuleError("the file must hold a table/mapping at the top", source=str(path))
    return data


def load_rules(paths: Sequence[Path] | Path | None = None, *, base: RuleSet | None = None) -> RuleSet:
    """The built-in rules (or ``base``) changed by each rule file in turn."""
    rules = base or RuleSet.builtin()
    if paths is None:
        return rules
    for path in [paths] if isinstance(paths, Path) else paths:
        rules = rules.with_file(_read(path), source=str(path))
    return rules
