"""``EscalationConfig``: what the cascade may spend and how it climbs, from code, TOML or environment.

Precedence, lowest first: built-in defaults < TOML file < ``ESCALADE_*`` environment variables <
arguments given in code. Any invalid value raises :class:`~escalade.exceptions.ConfigError` naming the
field and where the value came from (file path or environment variable).

>>> cfg = EscalationConfig(max_cost=5.0)
>>> cfg.tiers.names, cfg.tiers["cheap"].min_attempts, cfg.tiers["capable"].threshold
(('cheap', 'capable', 'premium'), 2, 85.0)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalade.exceptions import ConfigError
from escalade.tiers import DEFAULT_TIER_SETTINGS, Ladder, Tier

__all__ = ["ENV_PREFIX", "RESERVED_ENV_VARS", "EscalationConfig", "load_config"]

#: Prefix of every environment variable escalade reads.
ENV_PREFIX = "ESCALADE_"

#: ``ESCALADE_*`` variables that are not configuration fields (read elsewhere), so not typos.
RESERVED_ENV_VARS = frozenset({"ESCALADE_DATABASE_URL", "ESCALADE_CONFIG", "ESCALADE_DATA_DIR"})

_TIER_ENV_FIELDS = {
    "MODELS": "models",
    "THRESHOLD": "threshold",
    "MIN_ATTEMPTS": "min_attempts",
    "TEAM_SIZE": "team_size",
}


@dataclass(frozen=True, kw_only=True)
class EscalationConfig:
    """How the cascade climbs and what it may spend. Immutable; use :meth:`replace` for variants."""

    #: Climb at all. When off, every item runs on its start tier only.
    enabled: bool = True
    #: The ladder, cheapest first.
    tiers: Ladder = field(default_factory=Ladder.default)
    #: Hard cap on a run's spend in USD (``None``: no cap).
    max_cost: float | None = 10.0
    #: Spend up to this many USD without asking; above it the approval callback is asked once.
    auto_approve_under: float | None = 1.0
    #: Stop the run with ``BudgetExceededError`` when the next attempt could pass ``max_cost``.
    abort_on_budget_exceeded: bool = True
    #: When not aborting, record a warning when the cap is passed (otherwise pass silently).
    warn_on_budget_exceeded: bool = False
    #: Stop retrying a tier when the CQS (0–1 scale) rose less than this over the window.
    stagnation_threshold: float = 0.05
    #: Number of consecutive attempts the stagnation check looks across (at least 2).
    stagnation_window: int = 2
    #: Items worked on at the same time.
    max_concurrency: int = 8
    #: Output-token cap sent with each request; bounds the worst-case cost estimate.
    max_output_tokens: int = 1024

    def __post_init__(self) -> None:
        if not isinstance(self.tiers, Ladder):
            object.__setattr__(self, "tiers", Ladder(self.tiers))
        checks: list[tuple[str, bool, str]] = [
            ("max_cost", self.max_cost is None or self.max_cost > 0, "must be a positive number of USD"),
            ("auto_approve_under", self.auto_approve_under is None or self.auto_approve_under >= 0, "must be >= 0"),
            ("stagnation_threshold", 0.0 <= self.stagnation_threshold <= 1.0, "must be between 0 and 1"),
            ("stagnation_window", self.stagnation_window >= 2, "must be at least 2"),
            ("max_concurrency", self.max_concurrency >= 1, "must be at least 1"),
            ("max_output_tokens", self.max_output_tokens >= 1, "must be at least 1"),
        ]
        for name, ok, message in checks:
            if not ok:
                raise ConfigError(f"{message}, got {getattr(self, name)!r}", field=name)

    def replace(self, **changes: Any) -> EscalationConfig:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot (the TOML layout)."""
        scalars = {name: getattr(self, name) for name in _SCALAR_FIELDS}
        tiers = [
            {
                "name": t.name,
                "rank": t.rank,
                "models": list(t.models),
                "threshold": t.threshold,
                "min_attempts": t.min_attempts,
                "team_size": t.team_size,
            }
            for t in self.tiers
        ]
        return {**scalars, "tiers": tiers}

    def with_tier(self, name: str, **changes: Any) -> EscalationConfig:
        """A copy with the tier called ``name`` changed, e.g. ``with_tier("cheap", min_attempts=3)``."""
        return self.replace(tiers=self.tiers.replace_tier(replace(self.tiers[name], **changes)))


class _TierInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    name: str = Field(min_length=1)
    rank: int | None = None
    models: list[str] = Field(default_factory=list)
    threshold: float | None = Field(default=None, ge=0, le=100)
    min_attempts: int | None = Field(default=None, ge=1)
    team_size: int | None = Field(default=None, ge=1, le=3)


class _ConfigInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    tiers: list[_TierInput] | None = None
    max_cost: float | None = Field(default=None, gt=0)
    auto_approve_under: float | None = Field(default=None, ge=0)
    abort_on_budget_exceeded: bool | None = None
    warn_on_budget_exceeded: bool | None = None
    stagnation_threshold: float | None = Field(default=None, ge=0, le=1)
    stagnation_window: int | None = Field(default=None, ge=2)
    max_concurrency: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)


_SCALAR_FIELDS = [f.name for f in fields(EscalationConfig) if f.name != "tiers"]


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> EscalationConfig:
    """Build a config from defaults, an optional TOML file, ``ESCALADE_*`` variables and overrides.

    ``env`` defaults to ``os.environ``; pass ``{}`` to ignore the environment.
    """
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path is not None:
        source = str(path)
        raw = _read_toml(Path(path))
        origin = dict.fromkeys(raw, source)
    _apply_env(raw, origin, env)
    parsed = _validate(raw, origin)
    config = _build(parsed, origin)
    return config.replace(**overrides) if overrides else config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", source=str(path)) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(path)) from exc


def _apply_env(raw: dict[str, Any], origin: dict[str, str], env: Mapping[str, str]) -> None:
    tier_names = [t["name"] for t in raw.get("tiers", []) if isinstance(t, dict) and "name" in t] or list(
        DEFAULT_TIER_SETTINGS
    )
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in RESERVED_ENV_VARS:
            continue
        value = env[var]
        key = var[len(ENV_PREFIX) :].lower()
        if key in _SCALAR_FIELDS:
            raw[key] = _env_scalar(value)
            origin[key] = f"environment variable {var}"
            continue
        tier_field = _match_tier_var(var, tier_names)
        if tier_field is None:
            raise ConfigError(
                f"unknown setting; known: {', '.join(ENV_PREFIX + f.upper() for f in _SCALAR_FIELDS)} "
                f"and {ENV_PREFIX}<TIER>_{{{','.join(_TIER_ENV_FIELDS)}}}",
                source=f"environment variable {var}",
            )
        tier_name, fname = tier_field
        tiers = raw.setdefault("tiers", [{"name": n} for n in tier_names])
        entry = next(t for t in tiers if t.get("name") == tier_name)
        entry[fname] = [m.strip() for m in value.split(",") if m.strip()] if fname == "models" else value
        origin[f"tiers.{tier_name}.{fname}"] = f"environment variable {var}"


def _match_tier_var(var: str, tier_names: list[str]) -> tuple[str, str] | None:
    for tier in tier_names:
        stem = f"{ENV_PREFIX}{tier.upper()}_"
        if var.startswith(stem) and var[len(stem) :] in _TIER_ENV_FIELDS:
            return tier, _TIER_ENV_FIELDS[var[len(stem) :]]
    return None


def _env_scalar(value: str) -> Any:
    lowered = value.strip().lower()
    if lowered in {"none", "null", ""}:
        return None
    return value.strip()


def _validate(raw: dict[str, Any], origin: dict[str, str]) -> _ConfigInput:
    try:
        return _ConfigInput.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        field_path = ".".join(loc)
        source = origin.get(loc[0]) if loc else None
        if loc and loc[0] == "tiers" and len(loc) >= 2 and loc[1].isdigit():
            tiers = raw.get("tiers") or []
            idx = int(loc[1])
            name = tiers[idx].get("name") if idx < len(tiers) and isinstance(tiers[idx], dict) else None
            if name:
                field_path = ".".join(["tiers", str(name), *loc[2:]])
                source = origin.get(field_path, origin.get("tiers"))
        raise ConfigError(err["msg"], field=field_path, source=source) from None


def _build(parsed: _ConfigInput, origin: dict[str, str]) -> EscalationConfig:
    kwargs: dict[str, Any] = {name: getattr(parsed, name) for name in _SCALAR_FIELDS if name in parsed.model_fields_set}
    if parsed.tiers is not None:
        kwargs["tiers"] = Ladder(_tier_from_input(t, i, origin) for i, t in enumerate(parsed.tiers))
    try:
        return EscalationConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(exc.message, field=exc.field, source=origin.get(exc.field or "")) from None


def _tier_from_input(t: _TierInput, position: int, origin: dict[str, str]) -> Tier:
    defaults = DEFAULT_TIER_SETTINGS.get(t.name)
    missing = [name for name, value in (("threshold", t.threshold), ("min_attempts", t.min_attempts)) if value is None]
    if defaults is None and missing:
        raise ConfigError(
            f"tier {t.name!r} is not one of {', '.join(DEFAULT_TIER_SETTINGS)}, so it must set {', '.join(missing)}",
            field=f"tiers.{t.name}",
            source=origin.get("tiers"),
        )
    _, threshold, min_attempts, team_size = defaults or (position, 0.0, 1, 1)
    return Tier(
        name=t.name,
        rank=t.rank if t.rank is not None else position,
        models=tuple(t.models),
        threshold=t.threshold if t.threshold is not None else threshold,
        min_attempts=t.min_attempts if t.min_attempts is not None else min_attempts,
        team_size=t.team_size if t.team_size is not None else team_size,
    )
