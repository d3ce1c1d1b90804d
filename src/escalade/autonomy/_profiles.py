"""Automation profiles: how much an agent may do on its own, from fully manual to fully autonomous.

A profile sets, per decision type, the confidence an action needs to proceed without a person
(:meth:`AutomationProfile.threshold`), the lowest rule priority that forces escalation, the
criticality above which a decision always escalates, and how far below its threshold a low-stakes,
reversible decision may still proceed with its risk accepted.

The eight built-in profiles share one shape: :data:`BALANCED_THRESHOLDS` shifted up (stricter) or
down. Custom profiles come from TOML (:func:`load_profiles`)::

    [profiles.release_week]
    base = "cautious"              # a built-in (or earlier custom) profile to start from
    description = "Freeze: deployments always need a person"
    shift = 0.05                   # added to every threshold of the base
    thresholds = { deployment = 1.0 }
    rule_floor = "low"             # low | medium | high | critical
    escalate_criticality_above = 0.9
    risk_margin = 0.0

>>> PROFILES["balanced"].threshold(DecisionType.DEPLOYMENT)
0.66
>>> [p.name for p in PROFILES.values()][:3]
['manual', 'supervised', 'cautious']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from escalade.autonomy._decisions import DecisionType, Priority
from escalade.exceptions import ConfigError
from escalade.untrusted import read_data

__all__ = [
    "BALANCED_THRESHOLDS",
    "DEFAULT_PROFILE",
    "PROFILES",
    "AutomationProfile",
    "load_profiles",
    "profile_table",
]

#: Confidence needed to proceed under the ``balanced`` profile, per decision type.
BALANCED_THRESHOLDS: Mapping[DecisionType, float] = {
    DecisionType.SECURITY: 0.68,
    DecisionType.DEPLOYMENT: 0.66,
    DecisionType.DATA: 0.64,
    DecisionType.ARCHITECTURE: 0.64,
    DecisionType.RESOURCE: 0.62,
    DecisionType.INTEGRATION: 0.62,
    DecisionType.CONFIGURATION: 0.6,
    DecisionType.GENERAL: 0.6,
    DecisionType.FIX: 0.58,
    DecisionType.MAINTENANCE: 0.58,
}

#: The profile used when none is named.
DEFAULT_PROFILE = "balanced"


@dataclass(frozen=True, kw_only=True)
class AutomationProfile:
    """How much may proceed without a person (see the module docstring)."""

    name: str
    description: str
    #: Confidence needed to proceed, per decision type (each in [0, 1]; 1.0 means "always ask").
    thresholds: Mapping[DecisionType, float]
    #: Rule hits of this priority or above force escalation; critical rules always do.
    rule_floor: Priority = Priority.LOW
    #: A decision more critical than this always escalates (``None``: criticality alone never does).
    escalate_criticality_above: float | None = 0.9
    #: Below its threshold by at most this much, a low-stakes reversible decision proceeds, risk accepted.
    risk_margin: float = 0.0
    #: Every decision waits for a person.
    manual: bool = False
    #: Whether the target-rate controller may move this profile's thresholds.
    rate_control: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for decision_type, value in self.thresholds.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and 0.0 <= value <= 1.0 and math.isfinite(value)):
                raise ConfigError(
                    f"profile {self.name!r}: threshold for {decision_type} must be in [0, 1], got {value!r}",
                    field=f"thresholds.{decision_type}",
                )
        missing = [t.value for t in DecisionType if t not in self.thresholds]
        if missing:
            raise ConfigError(f"profile {self.name!r} has no threshold for {', '.join(missing)}", field="thresholds")
        if self.escalate_criticality_above is not None and not 0.0 <= self.escalate_criticality_above <= 1.0:
            raise ConfigError(
                f"profile {self.name!r}: escalate_criticality_above must be in [0, 1]",
                field="escalate_criticality_above",
            )
        if not 0.0 <= self.risk_margin <= 1.0:
            raise ConfigError(f"profile {self.name!r}: risk_margin must be in [0, 1]", field="risk_margin")

    def threshold(self, decision_type: DecisionType, *, read_only: bool = False) -> float:
        """Confidence needed for ``decision_type`` to proceed (before learning and rate control).

        A read-only action needs the profile's lowest threshold: looking cannot do the harm its type can.
        """
        if read_only:
            return min(self.thresholds.values())
        return self.thresholds[decision_type]


def _shifted(shift: float) -> dict[DecisionType, float]:
    return {t: round(min(max(v + shift, 0.0), 1.0), 4) for t, v in BALANCED_THRESHOLDS.items()}


def _profile(name: str, description: str, shift: float, **kwargs: Any) -> AutomationProfile:
    return AutomationProfile(name=name, description=description, thresholds=_shifted(shift), **kwargs)


#: The eight built-in profiles, most cautious first.
PROFILES: Mapping[str, AutomationProfile] = {
    p.name: p
    for p in (
        _profile("manual", "Every action waits for a person.", 0.22, manual=True, rate_control=False),
        _profile("supervised", "New agents: nearly everything is checked.", 0.18, rate_control=False),
        _profile("cautious", "Routine work proceeds; anything with risk is asked about.", 0.10),
        _profile("balanced", "The default: routine and well-understood work proceeds.", 0.0, risk_margin=0.04),
        _profile("confident", "An agent with a good record in this workspace.", -0.06, risk_margin=0.06),
        _profile(
            "trusting",
            "Only risky work is asked about; low-priority rules advise.",
            -0.12,
            rule_floor=Priority.MEDIUM,
            risk_margin=0.08,
        ),
        _profile(
            "autonomous",
            "Only high-stakes work is asked about.",
            -0.22,
            rule_floor=Priority.HIGH,
            escalate_criticality_above=0.95,
            risk_margin=0.12,
        ),
        AutomationProfile(
            name="full_autonomy",
            description="Nothing is asked about except critical rules.",
            thresholds=dict.fromkeys(DecisionType, 0.0),
            rule_floor=Priority.CRITICAL,
            escalate_criticality_above=None,
            rate_control=False,
        ),
    )
}


def profile_table(profiles: Mapping[str, AutomationProfile] = PROFILES) -> str:
    """A Markdown table of the profiles' thresholds and settings (the one in docs/autonomy.md)."""
    types = list(DecisionType)
    head = ["profile", *[t.value for t in types], "rules that force", "criticality", "risk margin"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in profiles.values():
        cells = ["ask"] * len(types) if p.manual else [f"{p.threshold(t):.2f}" for t in types]
        crit = "–" if p.escalate_criticality_above is None else f"> {p.escalate_criticality_above:g}"
        rules = "all" if p.manual else f"{p.rule_floor.value}+"
        rows.append("| " + " | ".join([f"`{p.name}`", *cells, rules, crit, f"{p.risk_margin:g}"]) + " |")
    return "\n".join(rows)


_PROFILE_KEYS = frozenset(
    {
        "base",
        "description",
        "shift",
        "thresholds",
        "rule_floor",
        "escalate_criticality_above",
        "risk_margin",
        "manual",
        "rate_control",
    }
)


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}", field=key)
    return float(value)


def _thresholds(name: str, entry: Mapping[str, Any], base: AutomationProfile, where: str) -> dict[DecisionType, float]:
    shift = _number(entry.get("shift", 0.0), where, "shift")
    thresholds = {t: min(max(v + shift, 0.0), 1.0) for t, v in base.thresholds.items()}
    given = entry.get("thresholds", {})
    if not isinstance(given, Mapping):
        raise ConfigError(f"{where}: profile {name!r}: thresholds must be a table", field="thresholds")
    for key, value in given.items():
        try:
            decision_type = DecisionType(key)
        except ValueError:
            types = ", ".join(t.value for t in DecisionType)
            raise ConfigError(
                f"{where}: profile {name!r}: unknown decision type {key!r}; use {types}", field=f"thresholds.{key}"
            ) from None
        thresholds[decision_type] = _number(value, where, f"thresholds.{key}")
    return thresholds


def _settings(name: str, entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "description" in entry:
        if not isinstance(entry["description"], str):
            raise ConfigError(f"{where}: profile {name!r}: description must be a string", field="description")
        changes["description"] = entry["description"]
    if "rule_floor" in entry:
        if not isinstance(entry["rule_floor"], str) or entry["rule_floor"] not in {p.value for p in Priority}:
            raise ConfigError(
                f"{where}: profile {name!r}: rule_floor is low, medium, high or critical", field="rule_floor"
            )
        changes["rule_floor"] = Priority(entry["rule_floor"])
    if "escalate_criticality_above" in entry:
        value = entry["escalate_criticality_above"]
        changes["escalate_criticality_above"] = (
            None if value == "none" else _number(value, where, "escalate_criticality_above")
        )
    if "risk_margin" in entry:
        changes["risk_margin"] = _number(entry["risk_margin"], where, "risk_margin")
    for flag in ("manual", "rate_control"):
        if flag in entry:
            if not isinstance(entry[flag], bool):
                raise ConfigError(f"{where}: profile {name!r}: {flag} must be true or false", field=flag)
            changes[flag] = entry[flag]
    return changes


def _custom(name: str, entry: Any, known: Mapping[str, AutomationProfile], where: str) -> AutomationProfile:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: [profiles.{name}] must be a table", field=f"profiles.{name}")
    unknown = sorted(set(entry) - _PROFILE_KEYS)
    if unknown:
        keys = ", ".join(sorted(_PROFILE_KEYS))
        raise ConfigError(f"{where}: profile {name!r}: unknown key {unknown[0]!r}; use {keys}", field=unknown[0])
    base_name = entry.get("base", DEFAULT_PROFILE)
    if base_name not in known:
        raise ConfigError(
            f"{where}: profile {name!r}: unknown base {base_name!r}; use {', '.join(known)}", field="base"
        )
    base = known[base_name]
    changes = {"name": name, "thresholds": _thresholds(name, entry, base, where), **_settings(name, entry, where)}
    try:
        return replace(base, **changes)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}", field=exc.field) from None


def load_profiles(path: Path | None = None) -> dict[str, AutomationProfile]:
    """The built-in profiles plus the ``[profiles.NAME]`` tables of a TOML file (which may replace built-ins)."""
    profiles = dict(PROFILES)
    if path is None:
        return profiles
    data = read_data(path, "toml", what="profiles file", error=ConfigError)
    unknown = sorted(set(data) - {"profiles"})
    if unknown:
        raise ConfigError(
            f"unknown top-level key {unknown[0]!r}: profiles go in [profiles.NAME] tables",
            source=str(path),
            field=unknown[0],
        )
    tables = data.get("profiles", {})
    if not isinstance(tables, Mapping):
        raise ConfigError("[profiles] must be a table of profiles", source=str(path), field="profiles")
    for name, entry in tables.items():
        profiles[name] = _custom(name, entry, profiles, str(path))
    return profiles
