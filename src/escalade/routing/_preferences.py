"""Workspace preferences: the bounds, defaults and choices a workspace puts on routing.

The start tier follows seed 002's ``select_tier`` (classify, apply the bounds, then: the override
if given, else the workspace's default tier, else the classification):

1. a per-request **override** (``route(..., override="premium")``) names the tier outright. It is
   *not* subject to the bounds: seed 002 applies ``min_tier``/``max_tier`` to the classification and
   then returns the override as given, because the caller asked for that tier explicitly;
2. otherwise the workspace's **default tier** is the start, when it has one: the classifier is not
   consulted (seed 002: "Return preference.default_tier if set");
3. otherwise the **classification**: the classifier's tier (the first tier when there is none).

Then, for (2) and (3) only: validated triggers and the context analysis raise the start when
``auto_escalation`` is on (with it off they are reported and do not act, so a workspace that wants
its default tier to hold exactly turns auto-escalation off), and the bounds ``min_tier`` and
``max_tier`` clamp the result. A default tier must lie within the bounds (:meth:`check`).

``preferred_models`` names, per tier, the models the workspace wants tried first; ``preferred_providers``
then orders the rest (``openai/gpt-4o`` belongs to provider ``openai``). Neither adds a model: a
preferred model that is not on the tier's list is left out, never invented (:meth:`order_models`).

``quality_policy`` says how the workspace's answers are judged (:class:`QualityPolicy`: a scorer of
:mod:`escalade.plugins` and an optional CQS bar); the pipeline reads it, routing does not.

>>> prefs = WorkspacePreferences(preferred_models={"cheap": ["b/two"]}, preferred_providers=("c",))
>>> prefs.order_models(("a/one", "b/two", "c/three"), tier="cheap")
('b/two', 'c/three', 'a/one')
>>> QualityPolicy.parse("consensus:80")
QualityPolicy(scorer='consensus', threshold=80.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder
from escalade.untrusted import MAX_ID_CHARS, MAX_TIER_CHARS, unstorable

__all__ = ["MAX_PREFERRED", "QualityPolicy", "WorkspacePreferences"]

#: Most preferred providers, tiers with preferred models, and models per tier a workspace may name.
MAX_PREFERRED = 50
#: Longest provider name (the part of a model name before ``/``).
MAX_PROVIDER_CHARS = 100

_SCORER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True, kw_only=True)
class QualityPolicy:
    """How a workspace's answers are judged: a run-time scorer and, optionally, the CQS it must reach.

    ``scorer`` is the name of a scorer registered in :mod:`escalade.plugins` (``consensus`` is
    built in); :meth:`check_scorer` checks it against the registered names. ``threshold`` is the
    Composite Quality Score (0–100) an answer needs on every tier, in place of each tier's own
    threshold (``None``: the tiers' thresholds stand). Written as text, it is ``NAME`` or
    ``NAME:THRESHOLD``.

    >>> str(QualityPolicy(scorer="consensus", threshold=85))
    'consensus:85'
    """

    #: Name of the scorer (an entry point of ``escalade.scorers``).
    scorer: str
    #: CQS (0–100) an answer must reach on every tier; ``None``: each tier's own threshold.
    threshold: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scorer, str) or not _SCORER_NAME.fullmatch(self.scorer):
            raise ConfigError(
                f"scorer must be a plugin name (letters, digits, '.', '_', '-'; at most 100), got {self.scorer!r}",
                field="quality_policy",
            )
        if self.threshold is not None:
            value = self.threshold
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"threshold must be a number from 0 to 100, got {value!r}", field="quality_policy")
            if not 0 <= value <= 100:
                raise ConfigError(f"threshold must be from 0 to 100 (a CQS), got {value!r}", field="quality_policy")
            object.__setattr__(self, "threshold", float(value))

    @classmethod
    def parse(cls, text: str) -> QualityPolicy:
        """The policy written as ``NAME`` or ``NAME:THRESHOLD``."""
        name, sep, bar = text.strip().partition(":")
        if not sep:
            return cls(scorer=name)
        try:
            threshold = float(bar)
        except ValueError:
            raise ConfigError(
                f"write NAME or NAME:THRESHOLD (a CQS from 0 to 100), got {text!r}", field="quality_policy"
            ) from None
        return cls(scorer=name, threshold=threshold)

    def check_scorer(self, available: Collection[str]) -> None:
        """Raise :class:`ConfigError` unless ``scorer`` is one of ``available`` (registered scorer names)."""
        if self.scorer not in available:
            raise ConfigError(
                f"unknown scorer {self.scorer!r}; available: {', '.join(sorted(available))}", field="quality_policy"
            )

    def __str__(self) -> str:
        return self.scorer if self.threshold is None else f"{self.scorer}:{self.threshold:g}"


@dataclass(frozen=True, kw_only=True, repr=False)
class WorkspacePreferences:
    """Routing bounds and choices of one workspace (see the module docstring for the precedence).

    Every field is checked on construction (names bounded and storable); tier names are checked
    against a ladder by :meth:`check`. Use :func:`dataclasses.replace` for a variant.

    >>> WorkspacePreferences(min_tier="capable", preferred_models={"capable": ["openai/gpt-4o"]})
    WorkspacePreferences(min_tier='capable', preferred_models={'capable': ('openai/gpt-4o',)})
    """

    #: Lowest tier a routed task may start on (``None``: the first tier).
    min_tier: str | None = None
    #: Highest tier a routed task may start on (``None``: the top tier).
    max_tier: str | None = None
    #: Start tier of every task this workspace routes, ahead of the classifier (``None``: classify).
    default_tier: str | None = None
    #: Providers whose models are tried first, in this order.
    preferred_providers: tuple[str, ...] = ()
    #: Per tier name, the models tried first on that tier, in this order (only those on the tier).
    preferred_models: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: Whether triggers may raise the start tier (and the cascade may climb); when off they are only reported.
    auto_escalation: bool = True
    #: How answers are judged (``None``: the caller's default scorer and the tiers' thresholds).
    quality_policy: QualityPolicy | None = None

    def __post_init__(self) -> None:
        for name in ("min_tier", "max_tier", "default_tier"):
            value = getattr(self, name)
            if value is not None:
                _check_name(value, name, what="tier name", limit=MAX_TIER_CHARS)
        object.__setattr__(self, "preferred_providers", _providers(self.preferred_providers))
        object.__setattr__(self, "preferred_models", _models(self.preferred_models))
        if not isinstance(self.auto_escalation, bool):
            raise ConfigError(f"must be true or false, got {self.auto_escalation!r}", field="auto_escalation")
        if self.quality_policy is not None and not isinstance(self.quality_policy, QualityPolicy):
            raise ConfigError("must be a QualityPolicy or None", field="quality_policy")

    def check(self, ladder: Ladder) -> None:
        """Raise :class:`ConfigError` if a tier named here is not on ``ladder``, the bounds cross, or the
        default tier lies outside them."""
        names = [("min_tier", self.min_tier), ("max_tier", self.max_tier), ("default_tier", self.default_tier)]
        names += [("preferred_models", tier) for tier in self.preferred_models]
        for name, tier in names:
            if tier is not None and tier not in ladder.names:
                raise ConfigError(f"no tier named {tier!r}; tiers: {', '.join(ladder.names)}", field=name)
        if self.min_tier and self.max_tier and ladder.index_of(self.min_tier) > ladder.index_of(self.max_tier):
            raise ConfigError(f"min_tier {self.min_tier!r} is above max_tier {self.max_tier!r}", field="min_tier")
        if self.default_tier is not None:
            index = ladder.index_of(self.default_tier)
            if self.min_tier and index < ladder.index_of(self.min_tier):
                raise ConfigError(
                    f"default_tier {self.default_tier!r} is below min_tier {self.min_tier!r}", field="default_tier"
                )
            if self.max_tier and index > ladder.index_of(self.max_tier):
                raise ConfigError(
                    f"default_tier {self.default_tier!r} is above max_tier {self.max_tier!r}", field="default_tier"
                )

    def clamp(self, ladder: Ladder, index: int) -> tuple[int, str | None]:
        """``index`` within the bounds, and why it moved (``None`` when it did not)."""
        low = ladder.index_of(self.min_tier) if self.min_tier else 0
        high = ladder.index_of(self.max_tier) if self.max_tier else len(ladder) - 1
        if index < low:
            return low, f"raised to the workspace's min_tier {self.min_tier!r}"
        if index > high:
            return high, f"capped at the workspace's max_tier {self.max_tier!r}"
        return index, None

    def order_models(self, models: Sequence[str], *, tier: str | None = None) -> tuple[str, ...]:
        """``models`` reordered, never added to: ``tier``'s preferred models first (in preference order,
        those in ``models`` only), then the rest with preferred providers' first; stable otherwise."""
        preferred = [m for m in self.preferred_models.get(tier, ()) if m in models] if tier is not None else []
        rest = [m for m in models if m not in preferred]
        if self.preferred_providers:

            def rank(model: str) -> int:
                for i, provider in enumerate(self.preferred_providers):
                    if model.lower().startswith(f"{provider.lower()}/"):
                        return i
                return len(self.preferred_providers)

            rest.sort(key=rank)
        return (*preferred, *rest)

    def models_for(self, ladder: Ladder, tier: str) -> tuple[str, ...]:
        """The models of ``ladder``'s tier ``tier`` in the order this workspace tries them."""
        return self.order_models(ladder[tier].models, tier=tier)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; :meth:`from_dict` reads it back."""
        return {
            "min_tier": self.min_tier,
            "max_tier": self.max_tier,
            "default_tier": self.default_tier,
            "preferred_providers": list(self.preferred_providers),
            "preferred_models": {tier: list(models) for tier, models in self.preferred_models.items()},
            "auto_escalation": self.auto_escalation,
            "quality_policy": None if self.quality_policy is None else str(self.quality_policy),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkspacePreferences:
        """Preferences from :meth:`to_dict`'s form; an unknown key is a :class:`ConfigError` naming it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown field(s) {', '.join(unknown)}; fields: {', '.join(sorted(known))}")
        values = dict(data)
        policy = values.get("quality_policy")
        if isinstance(policy, str):
            values["quality_policy"] = QualityPolicy.parse(policy)
        return cls(**values)

    def __hash__(self) -> int:
        return hash((*self.preferred_models.items(), self.min_tier, self.max_tier, self.default_tier))

    def __repr__(self) -> str:
        default = WorkspacePreferences()
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                shown.append(f"{f.name}={dict(value) if f.name == 'preferred_models' else value!r}")
        return f"WorkspacePreferences({', '.join(shown)})"


def _check_name(value: object, name: str, *, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"must be a {what} (non-empty text), got {value!r}", field=name)
    problem = unstorable(value, max_chars=limit)
    if problem is None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        problem = "contains a control character"
    if problem is None and value != value.strip():
        problem = "has leading or trailing whitespace"
    if problem is not None:
        raise ConfigError(f"{what} {value[:60]!r} {problem}", field=name)
    return value


def _names(values: object, name: str, *, what: str, limit: int) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ConfigError(f"must be a list of {what}s, got {values!r}", field=name)
    names = tuple(_check_name(v, name, what=what, limit=limit) for v in values)
    if len(names) > MAX_PREFERRED:
        raise ConfigError(f"names {len(names)} {what}s; at most {MAX_PREFERRED}", field=name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"repeats {', '.join(map(repr, repeated))}", field=name)
    return names


def _providers(values: object) -> tuple[str, ...]:
    names = _names(values, "preferred_providers", what="provider name", limit=MAX_PROVIDER_CHARS)
    for provider in names:
        if "/" in provider:
            raise ConfigError(f"a provider name has no '/', got {provider!r}", field="preferred_providers")
    return names


def _models(values: object) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"must map tier names to lists of models, got {values!r}", field="preferred_models")
    if len(values) > MAX_PREFERRED:
        raise ConfigError(f"names {len(values)} tiers; at most {MAX_PREFERRED}", field="preferred_models")
    checked: dict[str, tuple[str, ...]] = {}
    for tier, models in values.items():
        _check_name(tier, "preferred_models", what="tier name", limit=MAX_TIER_CHARS)
        field_name = f"preferred_models.{tier}"
        checked[tier] = _names(models, field_name, what="model name", limit=MAX_ID_CHARS)
        if not checked[tier]:
            raise ConfigError("names no model (leave the tier out instead)", field=field_name)
    return MappingProxyType(checked)
