"""Decisions are validated strictly: unknown fields, wrong types and out-of-range values name the field."""

from __future__ import annotations

from typing import Any

import pytest

from escalade.autonomy import (
    Decision,
    DecisionContext,
    DecisionType,
    Environment,
    Priority,
    Scope,
    parse_decision,
)
from escalade.exceptions import ConfigError, DecisionError


def test_full_decision_parses() -> None:
    """Every documented field is accepted and typed."""
    d = parse_decision(
        {
            "id": "d1",
            "description": "Deploy v2 to prod",
            "type": "Deployment",
            "environment": "prod",
            "affected_files": ["deploy/app.yaml"],
            "affected_systems": ["api", "web"],
            "estimated_cost": 12.5,
            "record_count": 0,
            "involves_data_deletion": False,
            "breaking_change": False,
            "affects_compliance": False,
            "performance_impact": -5,
            "reversible": True,
            "scope": "system_wide",
            "confidence_factors": {"risk": 0.2},
        }
    )
    assert d.type is DecisionType.DEPLOYMENT
    assert d.environment is Environment.PRODUCTION
    assert d.scope is Scope.SYSTEM_WIDE
    assert d.affected_systems == ("api", "web")
    assert d.confidence_factors is not None
    assert d.confidence_factors.risk == 0.2


def test_integer_id_becomes_a_string() -> None:
    """A numeric id is kept as its text."""
    assert parse_decision({"id": 7, "description": "x"}).id == "7"


def test_unstated_fields_stay_unstated() -> None:
    """Fields left out are None (not False), so the classifier may infer them."""
    d = parse_decision({"description": "x"})
    assert d.involves_data_deletion is None
    assert d.environment is None
    assert d.record_count is None
    assert d.stated() == {"description": "x"}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"description": "x", "colour": "red"}, "colour", "unknown field"),
        ({"id": "a"}, "description", "required"),
        ({"description": ""}, "description", "at least 1"),
        ({"description": "x", "type": "deploy"}, "type", "deployment"),
        ({"description": "x", "environment": "moon"}, "environment", "production"),
        ({"description": "x", "scope": "huge"}, "scope", "system-wide"),
        ({"description": "x", "record_count": -1}, "record_count", "greater than or equal"),
        ({"description": "x", "estimated_cost": -3}, "estimated_cost", "greater than or equal"),
        ({"description": "x", "estimated_cost": float("nan")}, "estimated_cost", "finite"),
        ({"description": "x", "performance_impact": -150}, "performance_impact", "greater than or equal"),
        ({"description": "x", "affected_files": ["a.py", " "]}, "affected_files", "non-empty"),
        ({"description": "x", "affected_files": "a.py"}, "affected_files", "tuple"),
        ({"description": "x", "confidence_factors": {"risk": 1.5}}, "confidence_factors.risk", "less than or equal"),
        ({"description": "x", "confidence_factors": {"mood": 0.5}}, "confidence_factors.mood", "past_success_rate"),
        ({"id": True, "description": "x"}, "id", "string or an integer"),
        ({"id": 10**250, "description": "x"}, "id", "at most 200 digits"),
        # wrong types are errors, not coerced
        ({"description": "x", "record_count": True}, "record_count", "valid integer"),
        ({"description": "x", "estimated_cost": True}, "estimated_cost", "valid number"),
        ({"description": "x", "involves_data_deletion": "yes"}, "involves_data_deletion", "valid boolean"),
        ({"description": "x", "reversible": 1}, "reversible", "valid boolean"),
        ({"description": "x", "confidence_factors": {"risk": True}}, "confidence_factors.risk", "valid number"),
        # what a database cannot store
        ({"id": "a\x00b", "description": "x"}, "id", "NUL"),
        ({"description": "x", "affected_files": ["a\x00.py"]}, "affected_files", "NUL"),
        ({"description": "x", "affected_systems": ["s" * 501]}, "affected_systems", "at most 500"),
        ({"id": ["a"], "description": "x"}, "id", "string or an integer"),
    ],
)
def test_bad_fields_are_named(data: dict[str, Any], field: str, words: str) -> None:
    """Each invalid field raises a DecisionError naming the decision and that field."""
    with pytest.raises(DecisionError) as raised:
        parse_decision(data)
    assert raised.value.field == field
    assert words in str(raised.value)
    if isinstance(data.get("id"), str):
        assert f"decision {data['id']!r}" in str(raised.value)


def test_integer_costs_are_numbers() -> None:
    """Strict types still take an integer where a number is expected."""
    assert parse_decision({"description": "x", "estimated_cost": 150}).estimated_cost == 150.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"workspace": "w" * 101}, "workspace"), ({"workspace": ""}, "workspace"), ({"agent": "a\x00"}, "agent")],
)
def test_context_names_are_checked(kwargs: dict[str, Any], field: str) -> None:
    """Workspace, agent and workflow names must be storable: a ConfigError names the field."""
    with pytest.raises(ConfigError) as raised:
        DecisionContext(**kwargs)
    assert raised.value.field == field


@pytest.mark.parametrize("value", [None, "text", 3, ["list"]])
def test_non_object_is_refused(value: Any) -> None:
    """A decision must be a mapping."""
    with pytest.raises(DecisionError, match="JSON object"):
        parse_decision(value)


def test_parsing_a_decision_returns_it() -> None:
    """A Decision passes through unchanged."""
    d = Decision(description="x")
    assert parse_decision(d) is d


def test_priorities_are_ordered() -> None:
    """Priority compares by urgency, not alphabetically."""
    assert Priority.LOW < Priority.MEDIUM < Priority.HIGH < Priority.CRITICAL
    assert max(Priority.HIGH, Priority.CRITICAL, Priority.LOW) is Priority.CRITICAL
    assert Priority.CRITICAL.rank == 3
