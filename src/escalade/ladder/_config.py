"""``EscalationConfig``: what the cascade may spend and how it climbs, from code, TOML or environment.

Precedence, lowest first: built-in defaults < TOML file (``--config``, else ``ESCALADE_CONFIG``) <
``ESCALADE_*`` environment variables < arguments given in code. TOML values are typed strictly
(``max_cost = "5"`` is an error); environment values are strings and are converted. ``none``
switches ``max_cost``, ``auto_approve_under`` or ``max_calls_per_request`` off and is an error
anywhere else. Any invalid value raises :class:`~escalade.exceptions.ConfigError` naming the field
and where the value came from (file path or environment variable).

>>> cfg = EscalationConfig(max_cost=5.0)
>>> cfg.tiers.names, cfg.tiers["cheap"].min_attempts, cfg.tiers["capable"].threshold
(('cheap', 'capable', 'premium'), 2, 85.0)

Seed 000's per-tier keywords set the ladder's tiers (``cheap_min_attempts`` is
``tiers["cheap"].min_attempts``, ``capable_cqs_threshold`` is ``tiers["capable"].threshold``):

>>> cfg = EscalationConfig(cheap_min_attempts=3, capable_cqs_threshold=80)
>>> cfg.tiers["cheap"].min_attempts, cfg.tiers["capable"].threshold
(3, 80.0)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from escalade.exceptions import ConfigError
from escalade.ladder._tiers import DEFAULT_TIER_SETTINGS, Ladder, Tier
from escalade.untrusted import MAX_ID_CHARS, MAX_TIER_CHARS, read_data, unstorable

__all__ = [
    "ENV_PREFIX",
    "MAX_USD",
    "NULLABLE_FIELDS",
    "RESERVED_ENV_VARS",
    "EscalationConfig",
    "load_config",
]

#: Largest amount of money escalade takes anywhere (a cap, a price, a ledger amount), in USD: ledger sums
#: of nano-dollars stay far inside a 64-bit integer.
MAX_USD = 1_000_000_000.0

#: Prefix of every environment variable escalade reads.
ENV_PREFIX = "ESCALADE_"

#: ``ESCALADE_*`` variables that are not configuration fields (read elsewhere), so not typos.
RESERVED_ENV_VARS = frozenset(
    {
        "ESCALADE_DATABASE_URL",
        "ESCALADE_CONFIG",
        "ESCALADE_DATA_DIR",
        "ESCALADE_DEBUG",  # tracebacks for CLI errors (escalade.cli.common)
        "ESCALADE_LOG_LEVEL",  # the CLI's log level (escalade.cli.logs)
        "ESCALADE_LOG_CONTENT",  # lets prompts and answers into debug records (escalade._logs)
        "ESCALADE_MASTER_KEY",  # encrypts stored provider keys (escalade.store._keys)
        "ESCALADE_AUDIT_KEY",  # signs the escalation audit trail (escalade.autonomy._audit)
        "ESCALADE_BENCHMARKS",  # where bench/ finds the shared datasets
        "ESCALADE_TEST_POSTGRES_URL",  # the PostgreSQL server the store tests use
        "ESCALADE_ADMIN_KEY",  # the administrator's key of escalade serve (escalade.service._settings)
        "ESCALADE_SESSION_KEY",  # signs the web inbox's sessions (escalade.service.web._session)
    }
)

#: Prefix of the variables ``escalade serve`` hands its worker processes (escalade.service._settings).
SERVE_ENV_PREFIX = "ESCALADE_SERVE_"

#: Settings that may be switched off with the value ``none`` (in TOML or the environment).
NULLABLE_FIELDS = frozenset({"max_cost", "auto_approve_under", "max_calls_per_request"})

_TIER_ENV_FIELDS = {
    "MODELS": "models",
    "THRESHOLD": "threshold",
    "MIN_ATTEMPTS": "min_attempts",
    "TEAM_SIZE": "team_size",
}

#: Seed 000's per-tier keywords of :class:`EscalationConfig`, each ``keyword: (tier name, Tier field)``.
_SEED_TIER_FIELDS: dict[str, tuple[str, str]] = {
    f"{tier}_{keyword}": (tier, name)
    for tier in ("cheap", "capable", "premium")
    for keyword, name in (("min_attempts", "min_attempts"), ("cqs_threshold", "threshold"))
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
    #: Ceiling on the calls sent for one work item (every tier, team role, retry and fallback counts;
    #: ``None``: no ceiling). Reaching it ends the item with its best answer so far.
    max_calls_per_request: int | None = 20
    #: Retries of a call that failed transiently (timeout, dropped connection, 5xx), with backoff and jitter.
    max_retries: int = 2
    #: First backoff in seconds; each retry doubles it (plus jitter) up to ``retry_max_wait_s``.
    retry_backoff_s: float = 0.5
    #: Longest wait before a retry, including a rate limit's ``retry-after``.
    retry_max_wait_s: float = 20.0
    #: A rate-limited model hands the item to the tier's next model, then to the next tier. When off,
    #: the item waits for the model (``retry-after``, at most ``retry_max_wait_s``) within ``max_retries``.
    escalate_on_rate_limit: bool = True

    # Seed 000's names for tier settings (init only, not stored: read them from ``tiers``). Each sets
    # that tier of the ladder; a ladder tier that states another value is a ConfigError naming the keyword.
    #: Seed 000's name for ``tiers["cheap"].min_attempts``.
    cheap_min_attempts: InitVar[int | None] = None
    #: Seed 000's name for ``tiers["capable"].min_attempts``.
    capable_min_attempts: InitVar[int | None] = None
    #: Seed 000's name for ``tiers["premium"].min_attempts``.
    premium_min_attempts: InitVar[int | None] = None
    #: Seed 000's name for ``tiers["cheap"].threshold`` (CQS, 0–100).
    cheap_cqs_threshold: InitVar[float | None] = None
    #: Seed 000's name for ``tiers["capable"].threshold`` (CQS, 0–100).
    capable_cqs_threshold: InitVar[float | None] = None
    #: Seed 000's name for ``tiers["premium"].threshold`` (CQS, 0–100).
    premium_cqs_threshold: InitVar[float | None] = None

    def __post_init__(
        self,
        cheap_min_attempts: int | None,
        capable_min_attempts: int | None,
        premium_min_attempts: int | None,
        cheap_cqs_threshold: float | None,
        capable_cqs_threshold: float | None,
        premium_cqs_threshold: float | None,
    ) -> None:
        tiers = self.tiers if isinstance(self.tiers, Ladder) else Ladder(self.tiers)
        seed = {
            "cheap_min_attempts": cheap_min_attempts,
            "capable_min_attempts": capable_min_attempts,
            "premium_min_attempts": premium_min_attempts,
            "cheap_cqs_threshold": cheap_cqs_threshold,
            "capable_cqs_threshold": capable_cqs_threshold,
            "premium_cqs_threshold": premium_cqs_threshold,
        }
        object.__setattr__(self, "tiers", _with_seed_fields(tiers, seed, keep_stated=True))
        checks: list[tuple[str, bool, str]] = [
            (
                "max_cost",
                _finite_or_none(self.max_cost, 0.0, strict=True) and (self.max_cost or 0.0) <= MAX_USD,
                f"must be a finite number of USD > 0 and at most {MAX_USD:,.0f}, or none",
            ),
            (
                "auto_approve_under",
                _finite_or_none(self.auto_approve_under, 0.0),
                "must be a finite number >= 0, or none",
            ),
            ("stagnation_threshold", 0.0 <= self.stagnation_threshold <= 1.0, "must be between 0 and 1"),
            ("stagnation_window", self.stagnation_window >= 2, "must be at least 2"),
            ("max_concurrency", self.max_concurrency >= 1, "must be at least 1"),
            ("max_output_tokens", self.max_output_tokens >= 1, "must be at least 1"),
            (
                "max_calls_per_request",
                self.max_calls_per_request is None or self.max_calls_per_request >= 1,
                "must be at least 1, or none",
            ),
            ("max_retries", 0 <= self.max_retries <= 10, "must be between 0 and 10"),
            ("retry_backoff_s", _finite_or_none(self.retry_backoff_s, 0.0), "must be a finite number of seconds >= 0"),
            (
                "retry_max_wait_s",
                _finite_or_none(self.retry_max_wait_s, 0.0) and self.retry_max_wait_s >= self.retry_backoff_s,
                "must be a finite number of seconds >= retry_backoff_s",
            ),
        ]
        for name, ok, message in checks:
            if not ok:
                raise ConfigError(f"{message}, got {getattr(self, name)!r}", field=name)

    def replace(self, **changes: Any) -> EscalationConfig:
        """A copy with ``changes`` applied (validated again).

        Seed 000's per-tier keywords (``cheap_min_attempts=3``) change that tier of this ladder, as
        :meth:`with_tier` does; given together with ``tiers=``, they must agree with it.
        """
        seed = {k: changes.pop(k) for k in _SEED_TIER_FIELDS.keys() & changes.keys()} if "tiers" not in changes else {}
        if seed:
            changes["tiers"] = _with_seed_fields(self.tiers, seed, keep_stated=False)
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


def _with_seed_fields(ladder: Ladder, values: Mapping[str, float | None], *, keep_stated: bool) -> Ladder:
    """``ladder`` with seed 000's per-tier keywords applied (``None``: not given).

    With ``keep_stated``, a tier whose value is not the built-in default states it, and a keyword
    that disagrees with it is a ConfigError naming the keyword.
    """
    given = {keyword: value for keyword, value in values.items() if value is not None}
    if not given:
        return ladder
    defaults = Ladder.default()
    for keyword, value in given.items():
        tier_name, name = _SEED_TIER_FIELDS[keyword]
        if tier_name not in ladder.names:
            raise ConfigError(f"the ladder has no {tier_name!r} tier (tiers: {', '.join(ladder.names)})", field=keyword)
        tier = ladder[tier_name]
        stated = getattr(tier, name)
        if keep_stated and stated not in (getattr(defaults[tier_name], name), value):
            raise ConfigError(
                f"{value!r} disagrees with the ladder's {tier_name}.{name} = {stated!r}; give only one of them",
                field=keyword,
            )
        change: dict[str, Any] = {name: value}
        try:
            ladder = ladder.replace_tier(replace(tier, **change))
        except ConfigError as exc:
            raise ConfigError(exc.message, field=keyword) from None
    return ladder


class _TierInput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    rank: int | None = None
    models: list[str] | None = None
    threshold: float | None = Field(default=None, ge=0, le=100)
    min_attempts: int | None = Field(default=None, ge=1)
    team_size: int | None = Field(default=None, ge=1, le=3)

    @field_validator("name")
    @classmethod
    def _storable_name(cls, value: str) -> str:
        """A tier name the store can keep (runs record it with every attempt)."""
        if problem := unstorable(value, max_chars=MAX_TIER_CHARS):
            raise ValueError(problem)
        return value

    @field_validator("models")
    @classmethod
    def _storable_models(cls, value: list[str] | None) -> list[str] | None:
        """Model names the store can keep."""
        for model in value or ():
            if problem := unstorable(model, max_chars=MAX_ID_CHARS):
                raise ValueError(f"model {model[:40]!r}: {problem}")
        return value


class _ConfigInput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
    max_calls_per_request: int | None = Field(default=None, ge=1)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    retry_backoff_s: float | None = Field(default=None, ge=0)
    retry_max_wait_s: float | None = Field(default=None, ge=0)
    escalate_on_rate_limit: bool | None = None


_SCALAR_FIELDS = [f.name for f in fields(EscalationConfig) if f.name != "tiers"]


def _finite_or_none(value: float | None, minimum: float, *, strict: bool = False) -> bool:
    if value is None:
        return True
    return math.isfinite(value) and (value > minimum if strict else value >= minimum)


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> EscalationConfig:
    """Build a config from defaults, a TOML file, ``ESCALADE_*`` variables and ``overrides``.

    ``path`` defaults to ``ESCALADE_CONFIG``; ``env`` defaults to ``os.environ`` (pass ``{}`` to
    ignore the environment).
    """
    env = os.environ if env is None else env
    if path is None and env.get("ESCALADE_CONFIG"):
        path = env["ESCALADE_CONFIG"]
    from_file, file_source = _ConfigInput(), None
    if path is not None:
        file_source = str(path)
        from_file = _validate(_read_toml(Path(path)), strict=True, source=lambda _: file_source)
    tier_names = [t.name for t in from_file.tiers] if from_file.tiers is not None else list(DEFAULT_TIER_SETTINGS)
    env_raw, env_source = _read_env(env, tier_names)
    from_env = _validate(env_raw, strict=False, source=env_source)
    config = _build(from_file, from_env, tier_names, file_source)
    return config.replace(**overrides) if overrides else config


def _read_toml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = read_data(path, "toml", what="config file", error=ConfigError)
    return _nulls(data)


def _nulls(raw: dict[str, Any]) -> dict[str, Any]:
    """``none`` (any case) switches a nullable limit off."""
    return {
        k: None if k in NULLABLE_FIELDS and isinstance(v, str) and v.strip().lower() == "none" else v
        for k, v in raw.items()
    }


def _read_env(env: Mapping[str, str], tier_names: list[str]) -> tuple[dict[str, Any], Callable[[str], str | None]]:
    """Environment settings as raw input, and a function naming the variable behind a field path."""
    raw: dict[str, Any] = {}
    tiers: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in RESERVED_ENV_VARS or var.startswith(SERVE_ENV_PREFIX):
            continue
        value = env[var].strip()
        where = f"environment variable {var}"
        if not value:
            raise ConfigError("is empty; unset it, or give a value (none switches a limit off)", source=where)
        key = var[len(ENV_PREFIX) :].lower()
        if key in _SCALAR_FIELDS:
            raw[key] = value
            origin[key] = where
            continue
        tier_field = _match_tier_var(var, tier_names)
        if tier_field is None:
            raise ConfigError(
                f"unknown setting; known: {', '.join(ENV_PREFIX + f.upper() for f in _SCALAR_FIELDS)} "
                f"and {ENV_PREFIX}<TIER>_{{{','.join(_TIER_ENV_FIELDS)}}} for tiers {', '.join(tier_names)}",
                source=where,
            )
        tier_name, fname = tier_field
        entry = tiers.setdefault(tier_name, {"name": tier_name})
        entry[fname] = [m.strip() for m in value.split(",") if m.strip()] if fname == "models" else value
        origin[f"tiers.{tier_name}.{fname}"] = where
    if tiers:
        raw["tiers"] = list(tiers.values())
    return _nulls(raw), origin.get


def _match_tier_var(var: str, tier_names: list[str]) -> tuple[str, str] | None:
    for tier in tier_names:
        stem = f"{ENV_PREFIX}{tier.upper()}_"
        if var.startswith(stem) and var[len(stem) :] in _TIER_ENV_FIELDS:
            return tier, _TIER_ENV_FIELDS[var[len(stem) :]]
    return None


def _validate(raw: dict[str, Any], *, strict: bool, source: Callable[[str], str | None]) -> _ConfigInput:
    try:
        return _ConfigInput.model_validate(raw, strict=strict)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        field_path = ".".join(loc)
        tiers = raw.get("tiers")
        if len(loc) >= 2 and loc[0] == "tiers" and loc[1].isdigit() and isinstance(tiers, list):
            entry = tiers[int(loc[1])] if int(loc[1]) < len(tiers) else None
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                field_path = ".".join(["tiers", entry["name"], *loc[2:]])
        where = source(field_path) or (source(loc[0]) if loc else None)
        raise ConfigError(err["msg"], field=field_path, source=where) from None


def _build(
    from_file: _ConfigInput, from_env: _ConfigInput, tier_names: list[str], file_source: str | None
) -> EscalationConfig:
    kwargs: dict[str, Any] = {}
    where: dict[str, str | None] = {}
    for layer, label in ((from_file, file_source), (from_env, "environment")):
        for name in _SCALAR_FIELDS:
            if name in layer.model_fields_set:
                kwargs[name] = getattr(layer, name)
                where[name] = label
    file_tiers = {t.name: t for t in from_file.tiers or []}
    env_tiers = {t.name: t for t in from_env.tiers or []}
    try:
        if from_file.tiers is not None or env_tiers:
            merged = [_merge_tier(file_tiers.get(n), env_tiers.get(n), n) for n in tier_names]
            kwargs["tiers"] = Ladder(_tier_from_input(t, i) for i, t in enumerate(merged))
        return EscalationConfig(**kwargs)
    except ConfigError as exc:
        source = where.get(exc.field or "") or (file_source if from_file.tiers is not None else "environment")
        raise ConfigError(exc.message, field=exc.field, source=source) from None


def _merge_tier(base: _TierInput | None, override: _TierInput | None, name: str) -> _TierInput:
    merged = base.model_dump(exclude_unset=True) if base else {"name": name}
    if override:
        merged.update(override.model_dump(exclude_unset=True))
    return _TierInput.model_validate(merged)


def _tier_from_input(t: _TierInput, position: int) -> Tier:
    defaults = DEFAULT_TIER_SETTINGS.get(t.name)
    missing = [name for name, value in (("threshold", t.threshold), ("min_attempts", t.min_attempts)) if value is None]
    if defaults is None and missing:
        raise ConfigError(
            f"tier {t.name!r} is not one of {', '.join(DEFAULT_TIER_SETTINGS)}, so it must set {', '.join(missing)}",
            field=f"tiers.{t.name}",
        )
    _, threshold, min_attempts, team_size = defaults or (position, 0.0, 1, 1)
    return Tier(
        name=t.name,
        rank=t.rank if t.rank is not None else position,
        models=tuple(t.models or ()),
        threshold=t.threshold if t.threshold is not None else threshold,
        min_attempts=t.min_attempts if t.min_attempts is not None else min_attempts,
        team_size=t.team_size if t.team_size is not None else team_size,
    )
