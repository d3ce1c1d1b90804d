"""Automation profiles: the eight built-ins, their table, custom profiles from TOML, and validation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from escalade.autonomy import (
    BALANCED_THRESHOLDS,
    DEFAULT_PROFILE,
    PROFILES,
    AutomationProfile,
    DecisionType,
    Priority,
    load_profiles,
    profile_table,
)
from escalade.exceptions import ConfigError

ORDER = ["manual", "supervised", "cautious", "balanced", "confident", "trusting", "autonomous", "full_autonomy"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- built-in profiles ------------------------------------------------------------------------------------------


def test_builtin_profiles_in_order() -> None:
    """The eight built-in profiles exist, most cautious first, each keyed by its own name."""
    assert list(PROFILES) == ORDER
    assert all(name == profile.name and profile.description for name, profile in PROFILES.items())


def test_default_profile_is_balanced_in_the_middle() -> None:
    """The default profile is balanced, in the middle of the order, with the balanced thresholds."""
    assert DEFAULT_PROFILE == "balanced"
    index = ORDER.index(DEFAULT_PROFILE)
    assert abs(index - (len(ORDER) - 1) / 2) <= 0.5
    assert dict(PROFILES[DEFAULT_PROFILE].thresholds) == dict(BALANCED_THRESHOLDS)


@pytest.mark.parametrize("decision_type", list(DecisionType))
def test_thresholds_never_rise_towards_autonomy(decision_type: DecisionType) -> None:
    """From supervised to full_autonomy, each decision type's threshold never increases."""
    values = [PROFILES[name].threshold(decision_type) for name in ORDER[1:]]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values, reverse=True)


def test_every_profile_has_every_threshold() -> None:
    """Every built-in profile sets a threshold for every decision type."""
    for profile in PROFILES.values():
        assert set(profile.thresholds) == set(DecisionType)


def test_manual_and_full_autonomy_are_the_extremes() -> None:
    """Manual asks about everything; full_autonomy asks only when a critical rule fires."""
    assert PROFILES["manual"].manual
    assert not any(p.manual for name, p in PROFILES.items() if name != "manual")
    full = PROFILES["full_autonomy"]
    assert all(full.threshold(t) == 0.0 for t in DecisionType)
    assert full.rule_floor is Priority.CRITICAL
    assert full.escalate_criticality_above is None


def test_profile_table_has_a_row_per_profile_and_a_column_per_type() -> None:
    """The Markdown table has one row per profile and a column for every decision type."""
    lines = profile_table().splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[0] == "profile"
    assert header[1 : 1 + len(DecisionType)] == [t.value for t in DecisionType]
    assert len(lines) == 2 + len(PROFILES)
    rows = lines[2:]
    for name, line in zip(ORDER, rows, strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0] == f"`{name}`"
        assert len(cells) == len(header)
    manual = [c.strip() for c in rows[0].strip("|").split("|")]
    assert manual[1 : 1 + len(DecisionType)] == ["ask"] * len(DecisionType)
    balanced = [c.strip() for c in rows[ORDER.index("balanced")].strip("|").split("|")]
    assert balanced[1 + list(DecisionType).index(DecisionType.DEPLOYMENT)] == "0.66"
    assert rows[-1].rstrip("| ").split("|")[-3].strip() == "critical+"


def test_profile_table_of_given_profiles() -> None:
    """profile_table renders only the profiles it is given."""
    table = profile_table({"balanced": PROFILES["balanced"]})
    assert len(table.splitlines()) == 3
    assert "`balanced`" in table
    assert "`manual`" not in table


# --- custom profiles from TOML ----------------------------------------------------------------------------------

CUSTOM = """
[profiles.release_week]
base = "cautious"
description = "Freeze: deployments always need a person"
shift = 0.05
thresholds = { deployment = 1.0, fix = 0.5 }
rule_floor = "medium"
escalate_criticality_above = 0.8
risk_margin = 0.02

[profiles.hands_off]
base = "release_week"
manual = true
rate_control = false
escalate_criticality_above = "none"
"""


def test_custom_profile_from_a_base(tmp_path: Path) -> None:
    """A custom profile starts from its base, shifts every threshold, then applies overrides and settings."""
    profiles = load_profiles(_write(tmp_path, CUSTOM))
    assert list(profiles) == [*ORDER, "release_week", "hands_off"]
    week = profiles["release_week"]
    cautious = PROFILES["cautious"]
    for decision_type in DecisionType:
        if decision_type not in (DecisionType.DEPLOYMENT, DecisionType.FIX):
            assert week.threshold(decision_type) == pytest.approx(cautious.threshold(decision_type) + 0.05)
    assert week.threshold(DecisionType.DEPLOYMENT) == 1.0
    assert week.threshold(DecisionType.FIX) == 0.5
    assert week.description == "Freeze: deployments always need a person"
    assert week.rule_floor is Priority.MEDIUM
    assert week.escalate_criticality_above == 0.8
    assert week.risk_margin == 0.02
    assert not week.manual
    assert week.rate_control


def test_custom_profile_from_an_earlier_custom(tmp_path: Path) -> None:
    """A profile may build on one defined earlier in the file, inheriting what it does not set."""
    profiles = load_profiles(_write(tmp_path, CUSTOM))
    hands_off, week = profiles["hands_off"], profiles["release_week"]
    assert hands_off.name == "hands_off"
    assert dict(hands_off.thresholds) == dict(week.thresholds)
    assert hands_off.description == week.description
    assert hands_off.rule_floor is Priority.MEDIUM
    assert hands_off.manual
    assert not hands_off.rate_control
    assert hands_off.escalate_criticality_above is None


def test_builtin_profile_can_be_replaced(tmp_path: Path) -> None:
    """A table named like a built-in replaces it in place; the base defaults to balanced."""
    profiles = load_profiles(_write(tmp_path, "[profiles.balanced]\nshift = 0.1\n\n[profiles.mine]\n"))
    assert list(profiles) == [*ORDER, "mine"]
    for decision_type, value in BALANCED_THRESHOLDS.items():
        assert profiles["balanced"].threshold(decision_type) == pytest.approx(value + 0.1)
    assert profiles["balanced"].description == PROFILES["balanced"].description
    assert dict(profiles["mine"].thresholds) == pytest.approx(dict(profiles["balanced"].thresholds))
    assert PROFILES["balanced"].threshold(DecisionType.DEPLOYMENT) == 0.66


@pytest.mark.parametrize(("shift", "expected"), [(0.5, 1.0), (-1.0, 0.0)])
def test_shift_is_clamped_to_the_unit_interval(tmp_path: Path, shift: float, expected: float) -> None:
    """A shift that would carry thresholds past 0 or 1 stops at the bound."""
    profiles = load_profiles(_write(tmp_path, f"[profiles.x]\nshift = {shift}\n"))
    assert all(profiles["x"].threshold(t) == expected for t in DecisionType)


def test_no_file_gives_the_builtins() -> None:
    """Without a file, load_profiles returns the built-in profiles (a copy)."""
    profiles = load_profiles()
    assert profiles == dict(PROFILES)
    assert profiles is not PROFILES


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ('[profiles.x]\ncolour = "blue"\n', "colour", "unknown key 'colour'"),
        ('[profiles.x]\nbase = "reckless"\n', "base", "unknown base 'reckless'"),
        ('[profiles.x]\nbase = "y"\n[profiles.y]\n', "base", "unknown base 'y'"),
        ("[profiles.x]\nthresholds = { deploy = 0.5 }\n", "thresholds.deploy", "unknown decision type 'deploy'"),
        ('[profiles.x]\nthresholds = { deployment = "high" }\n', "thresholds.deployment", "must be a number"),
        ("[profiles.x]\nthresholds = { deployment = true }\n", "thresholds.deployment", "must be a number"),
        ("[profiles.x]\nthresholds = { deployment = nan }\n", "thresholds.deployment", "must be a number"),
        ("[profiles.x]\nthresholds = 0.5\n", "thresholds", "thresholds must be a table"),
        ("[profiles.x]\nshift = 0.2\nthresholds = { security = 1.5 }\n", "thresholds.security", "in [0, 1]"),
        ("[profiles.x]\nshift = -0.5\nthresholds = { fix = -0.1 }\n", "thresholds.fix", "in [0, 1]"),
        ('[profiles.x]\nshift = "up"\n', "shift", "shift must be a number"),
        ("[profiles.x]\nshift = inf\n", "shift", "shift must be a number"),
        ('[profiles.x]\nrule_floor = "urgent"\n', "rule_floor", "rule_floor is low, medium, high or critical"),
        ("[profiles.x]\nrule_floor = 2\n", "rule_floor", "rule_floor is low, medium, high or critical"),
        ('[profiles.x]\nrule_floor = ["high"]\n', "rule_floor", "rule_floor is low, medium, high or critical"),
        ('[profiles.x]\nmanual = "yes"\n', "manual", "manual must be true or false"),
        ("[profiles.x]\nrate_control = 1\n", "rate_control", "rate_control must be true or false"),
        ("[profiles.x]\nescalate_criticality_above = 1.5\n", "escalate_criticality_above", "in [0, 1]"),
        ('[profiles.x]\nescalate_criticality_above = "never"\n', "escalate_criticality_above", "must be a number"),
        ("[profiles.x]\nrisk_margin = 2\n", "risk_margin", "risk_margin must be in [0, 1]"),
        ('[profiles.x]\nrisk_margin = "a"\n', "risk_margin", "risk_margin must be a number"),
        ("[profiles]\nx = 3\n", "profiles.x", "must be a table"),
        ("profiles = 3\n", "profiles", "must be a table of profiles"),
    ],
)
def test_profile_errors_name_file_and_field(tmp_path: Path, text: str, field: str, reason: str) -> None:
    """Every problem in a profiles file is a ConfigError naming the file, the field and the reason."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    message = str(caught.value)
    assert str(path) in message
    assert caught.value.field == field
    assert f"field {field!r}" in message
    assert reason in message


def test_unknown_top_level_table_is_refused(tmp_path: Path) -> None:
    """A top-level table other than [profiles] (here the typo [profile.x]) is an error, not silently ignored."""
    path = _write(tmp_path, "[profile.release_week]\nshift = 0.1\n")
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    assert str(path) in str(caught.value)


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    """A profiles file that is not valid TOML is a ConfigError naming the file and saying TOML."""
    path = _write(tmp_path, "[profiles.x\nshift = 0.1\n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_profiles(path)
    assert caught.value.source == str(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "profiles file not found"),
        ("directory", "cannot read the profiles file"),
        ("not utf-8", "profiles file is not UTF-8 text"),
    ],
)
def test_unreadable_file_is_a_config_error(tmp_path: Path, kind: str, message: str) -> None:
    """A profiles file that cannot be read is a ConfigError naming the file."""
    path = tmp_path / "profiles.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not utf-8":
        path.write_bytes(b"[profiles.x]\ndescription = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_profiles(path)
    assert caught.value.source == str(path)


# --- AutomationProfile validation -------------------------------------------------------------------------------


def _thresholds(**changes: float) -> dict[DecisionType, float]:
    return {**BALANCED_THRESHOLDS, **{DecisionType(k): v for k, v in changes.items()}}


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        (
            {"thresholds": {t: v for t, v in BALANCED_THRESHOLDS.items() if t is not DecisionType.SECURITY}},
            "thresholds",
            "no threshold for security",
        ),
        ({"thresholds": _thresholds(deployment=1.01)}, "thresholds.deployment", "must be in [0, 1]"),
        ({"thresholds": _thresholds(fix=-0.01)}, "thresholds.fix", "must be in [0, 1]"),
        ({"thresholds": _thresholds(data=math.nan)}, "thresholds.data", "must be in [0, 1]"),
        ({"risk_margin": -0.1}, "risk_margin", "risk_margin must be in [0, 1]"),
        ({"risk_margin": 1.5}, "risk_margin", "risk_margin must be in [0, 1]"),
        ({"risk_margin": math.nan}, "risk_margin", "risk_margin must be in [0, 1]"),
        ({"escalate_criticality_above": 1.2}, "escalate_criticality_above", "must be in [0, 1]"),
    ],
)
def test_profile_validation(kwargs: dict[str, Any], field: str, reason: str) -> None:
    """An AutomationProfile with a missing or out-of-range threshold or setting is refused, naming the field."""
    values: dict[str, Any] = {"name": "p", "description": "d", "thresholds": dict(BALANCED_THRESHOLDS), **kwargs}
    with pytest.raises(ConfigError) as caught:
        AutomationProfile(**values)
    assert caught.value.field == field
    assert reason in str(caught.value)
    assert "'p'" in str(caught.value)


def test_profile_bounds_are_inclusive() -> None:
    """Thresholds of exactly 0 and 1 and a risk margin of 1 are valid."""
    profile = AutomationProfile(
        name="edge",
        description="d",
        thresholds=_thresholds(deployment=1.0, fix=0.0),
        risk_margin=1.0,
        escalate_criticality_above=0.0,
    )
    assert profile.threshold(DecisionType.DEPLOYMENT) == 1.0
    assert profile.threshold(DecisionType.FIX) == 0.0


def test_docs_table_is_current() -> None:
    """docs/autonomy.md shows exactly the table the code generates."""
    docs = (Path(__file__).parents[2] / "docs" / "autonomy.md").read_text(encoding="utf-8")
    start = docs.index("<!-- profile table")
    table = docs[docs.index("\n", start) + 1 : docs.index("<!-- end of profile table -->")].strip()
    assert table == profile_table()
