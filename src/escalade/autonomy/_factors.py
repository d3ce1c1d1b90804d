"""The factors a decision's own properties give: its risk, its complexity and the cold-start prior.

These need no history (see :mod:`escalade.autonomy._controller` for how they combine with it):

- :func:`risk_of`: production, security, deletion, irreversibility, breaking changes, compliance,
  money, slow-downs and scope, combined so that each adds risk and none removes it;
- :func:`complexity_of`: files, systems and scope touched, a breaking change, steps and invariants
  named in the description, and (with a repository root) the affected Python files' cyclomatic
  complexity;
- :func:`prior_of`: what to believe of a workspace's past success and experience before it has any.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from escalade.autonomy._classify import Classification
from escalade.autonomy._decisions import Decision, DecisionType, Environment, Scope
from escalade.autonomy._text import Cue, Words

__all__ = ["CAUTIOUS_PRIOR", "Prior", "complexity_of", "prior_of", "risk_of"]

_TYPE_RISK = {
    DecisionType.SECURITY: 0.2,
    DecisionType.DEPLOYMENT: 0.15,
    DecisionType.DATA: 0.15,
    DecisionType.ARCHITECTURE: 0.15,
    DecisionType.RESOURCE: 0.1,
    DecisionType.INTEGRATION: 0.1,
    DecisionType.CONFIGURATION: 0.08,
    DecisionType.GENERAL: 0.05,
    DecisionType.FIX: 0.05,
    DecisionType.MAINTENANCE: 0.02,
}
_ENV_RISK = {Environment.PRODUCTION: 0.45, Environment.STAGING: 0.1, Environment.DEVELOPMENT: 0.0, None: 0.05}
_INVARIANT_CUES = tuple(
    Cue.of(p)
    for p in (
        "invariant",
        "consistency",
        "consistent",
        "transaction",
        "concurrency",
        "concurrent",
        "migration",
        "backward compatible",
        "backwards compatible",
        "idempotent",
        "ordering",
        "lock",
        "distributed",
        "race",
        "atomic",
        "zero downtime",
    )
)
_STEP_WORDS = frozenset({"then", "also", "after", "afterwards", "finally", "plus", "before"})
_MAX_SOURCE_BYTES = 1_000_000


def _noisy_or(parts: Mapping[str, float]) -> tuple[float, str]:
    doubt = 1.0
    for value in parts.values():
        doubt *= 1.0 - min(max(value, 0.0), 1.0)
    shown = ", ".join(f"{name} {value:.2f}" for name, value in parts.items() if value > 0) or "nothing notable"
    return 1.0 - doubt, shown


def risk_of(c: Classification) -> tuple[float, str]:
    """Risk in [0, 1] from a classification, and the parts that made it up."""
    parts = {
        f"type {c.type.value}": _TYPE_RISK[c.type],
        f"environment {c.environment.value if c.environment else 'unknown'}": _ENV_RISK[c.environment],
        "security": 0.4 if c.security_sensitive else 0.0,
        "deletion": 0.3 + 0.3 * min(math.log10(c.record_count + 1) / 5, 1.0) if c.deletion else 0.0,
        "irreversible": 0.0 if c.reversible else 0.35,
        "breaking change": 0.35 if c.breaking_change else 0.0,
        "compliance": 0.4 if c.affects_compliance else 0.0,
        "cost": min(c.estimated_cost / 1000, 1.0) * 0.5,
        "slow-down": min(-c.performance_impact / 50, 1.0) * 0.4 if c.performance_impact < 0 else 0.0,
        f"scope {c.scope.value}": (
            0.05
            if c.sources.get("scope") == "default"
            else {Scope.SYSTEM_WIDE: 0.3, Scope.COMPONENT: 0.1}.get(c.scope, 0.0)
        ),
        "urgent": 0.1 if c.urgent else 0.0,
        "money": 0.25 if c.money else 0.0,
        "records touched": 0.0 if c.deletion else min(math.log10(c.record_count + 1) / 6, 1.0) * 0.3,
    }
    if c.read_only:  # looking changes nothing: a quarter of the risk
        parts = {f"{name} (read-only)": value / 4 for name, value in parts.items()}
    return _noisy_or(parts)


#: The prior success rate of work that is production, irreversible or system-wide is at most this.
CAUTIOUS_PRIOR = 0.7
#: Risk at and above which work brings no prior experience (familiarity) with it.
_FAMILIAR_RISK = 0.6
#: The most experience a prior is worth, as a share of ``familiarity_scale`` decisions.
_MAX_EXPERIENCE = 0.5


@dataclass(frozen=True, kw_only=True)
class Prior:
    """What a decision's own properties say before any history (see the module docstring)."""

    #: Prior probability that the proposed action is right.
    success_rate: float
    #: Share of ``familiarity_scale`` decisions' worth of experience the work counts as (0 to 1).
    experience: float
    detail: str


def prior_of(c: Classification, risk: float) -> Prior:
    """The cold-start prior of a classified decision whose :func:`risk_of` is ``risk``."""
    local = c.environment is not Environment.PRODUCTION and c.scope is Scope.LOCAL and c.reversible
    success = 0.5 + 0.4 * (1.0 - risk)
    if not local:
        success = min(success, CAUTIOUS_PRIOR)
    experience = _MAX_EXPERIENCE * max(0.0, 1.0 - risk / _FAMILIAR_RISK) if local else 0.0
    where = c.environment.value if c.environment else "environment unknown"
    kind = "reversible" if c.reversible else "irreversible"
    return Prior(
        success_rate=success, experience=experience, detail=f"risk {risk:.2f}, {where}, scope {c.scope.value}, {kind}"
    )


def _code_complexity(decision: Decision, root: Path | None) -> int:
    """The highest cyclomatic complexity among the affected Python files inside ``root`` (0 if none)."""
    if root is None:
        return 0
    from escalade.codebase import analyze_file  # noqa: PLC0415  (radon, only with a repository root)

    base = root.resolve()
    highest = 0
    for name in decision.affected_files:
        path = (base / name).resolve()
        if path.suffix != ".py" or not path.is_relative_to(base) or not path.is_file():
            continue
        try:
            if path.stat().st_size > _MAX_SOURCE_BYTES:
                continue
            highest = max(highest, analyze_file(str(path), path.read_text(encoding="utf-8")).max_complexity)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
    return highest


def complexity_of(decision: Decision, c: Classification, root: Path | None = None) -> tuple[float, str]:
    """Complexity in [0, 1] from what the decision touches and says, and the parts that made it up."""
    words = Words.of(decision.description)
    steps = sum(1 for w in words.raw if w in _STEP_WORDS) + decision.description.count(";")
    invariants = sum(1 for cue in _INVARIANT_CUES if cue.find(words) is not None)
    code = _code_complexity(decision, root)
    parts = {
        "files": 0.5 * (1 - math.exp(-len(decision.affected_files) / 10)),
        "systems": min(0.15 * (len(decision.affected_systems) - 1), 0.45),
        f"scope {c.scope.value}": {Scope.SYSTEM_WIDE: 0.4, Scope.COMPONENT: 0.15}.get(c.scope, 0.0)
        if c.sources.get("scope") != "default"
        else 0.1,
        "breaking change": 0.3 if c.breaking_change else 0.0,
        "steps": min(0.05 * steps, 0.2),
        "invariants": min(0.15 * invariants, 0.3),
        f"cyclomatic complexity {code}": min(max(code - 5, 0) / 25, 1.0) * 0.5,
    }
    return _noisy_or(parts)
